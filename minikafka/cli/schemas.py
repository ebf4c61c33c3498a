"""``minikafka schemas``: register, list, get, check, configure and delete schemas.

The schema registry's REST API from the command line (with Confluent's
registry one uses ``curl`` or the ``confluent schema-registry`` command for
the same requests)::

    minikafka schemas register --subject payments-value --schema-file payment.avsc
    minikafka schemas list                                  # every subject
    minikafka schemas list --subject payments-value         # its versions
    minikafka schemas get --subject payments-value --version latest
    minikafka schemas get --id 1
    minikafka schemas check --subject payments-value --schema-file payment-v2.avsc
    minikafka schemas config                                # the global compatibility level
    minikafka schemas config --subject payments-value --compatibility FULL
    minikafka schemas delete --subject payments-value [--version 2] [--permanent]

``check`` asks the registry whether a schema may become the subject's next
version under its compatibility level: it prints ``compatible`` or
``incompatible`` with the registry's reasons, and exits 1 when incompatible,
so a build can refuse a breaking change before it is deployed. The registry
address is ``--schema-registry-url`` (default http://127.0.0.1:8081, where
``minikafka cluster start`` serves it).
"""

from __future__ import annotations

import argparse
import json
import pathlib

DEFAULT_URL = "http://127.0.0.1:8081"
ACTIONS = ["register", "list", "get", "check", "config", "delete"]
SCHEMA_TYPES = ["AVRO", "JSON", "PROTOBUF"]
LEVELS = ["BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
          "FULL_TRANSITIVE", "NONE"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("--schema-registry-url", default=DEFAULT_URL, metavar="URL",
                        help=f"the registry (default {DEFAULT_URL})")
    parser.add_argument("--subject", metavar="NAME", help="the subject (e.g. payments-value)")
    parser.add_argument("--version", default=None, metavar="N|latest",
                        help="get/check/delete: a version of the subject (default latest)")
    parser.add_argument("--id", type=int, metavar="ID", help="get: a schema by its id")
    schema = parser.add_mutually_exclusive_group()
    schema.add_argument("--schema-file", type=pathlib.Path, metavar="FILE",
                        help="register/check: the schema's file (.avsc, .json, .proto)")
    schema.add_argument("--schema", metavar="TEXT", help="register/check: the schema's text")
    parser.add_argument("--schema-type", choices=SCHEMA_TYPES, default=None,
                        help="register/check: the type (default: from the file's extension, else AVRO)")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=SUBJECT:VERSION",
                        help="register/check: a schema reference (repeatable)")
    parser.add_argument("--normalize", action="store_true", help="register: normalize the schema first")
    parser.add_argument("--compatibility", choices=LEVELS, metavar="LEVEL",
                        help=f"config: set this level ({', '.join(LEVELS)})")
    parser.add_argument("--permanent", action="store_true",
                        help="delete: hard delete (after a soft delete), as Confluent's ?permanent=true")
    parser.add_argument("--deleted", action="store_true", help="list: include soft-deleted subjects/versions")


def run(args: argparse.Namespace) -> int:
    from minikafka_clients.schema_registry import SchemaRegistryClient

    with SchemaRegistryClient(args.schema_registry_url) as registry:
        return ACTION_FUNCTIONS[args.action](registry, args)


# -- the actions ---------------------------------------------------------------------

def register(registry, args) -> int:
    text, schema_type, references = _schema_of(args)
    schema_id = registry.register(_subject(args), text, schema_type, references, normalize=args.normalize)
    print(f"registered: subject {args.subject} schema id {schema_id}")
    return 0


def list_(registry, args) -> int:
    if args.subject:
        for version in registry.list_versions(args.subject, deleted=args.deleted):
            print(version)
    else:
        for subject in registry.list_subjects(deleted=args.deleted):
            print(subject)
    return 0


def get(registry, args) -> int:
    if args.id is not None:
        found = registry.get_schema(args.id)
        print(f"id: {args.id}\ttype: {found.schema_type}")
    else:
        found = registry.get_version(_subject(args), args.version or "latest")
        print(f"subject: {found.subject}\tversion: {found.version}\tid: {found.schema_id}"
              f"\ttype: {found.schema_type}")
    print(_pretty(found.schema, found.schema_type))
    return 0


def check(registry, args) -> int:
    text, schema_type, references = _schema_of(args)
    compatible, reasons = registry.test_compatibility(_subject(args), text, schema_type, references,
                                                      version=args.version or "latest")
    print("compatible" if compatible else "incompatible")
    for reason in reasons:
        print(f"  {reason}")
    return 0 if compatible else 1


def config(registry, args) -> int:
    if args.compatibility:
        level = registry.set_compatibility(args.compatibility, args.subject)
    else:
        level = registry.get_compatibility(args.subject)
    print(f"{args.subject or 'global'}: {level}")
    return 0


def delete(registry, args) -> int:
    subject = _subject(args)
    if args.version:
        version = registry.delete_version(subject, args.version, permanent=args.permanent)
        print(f"deleted: subject {subject} version {version}{' (permanently)' if args.permanent else ''}")
    else:
        versions = registry.delete_subject(subject, permanent=args.permanent)
        print(f"deleted: subject {subject} versions {', '.join(map(str, versions))}"
              f"{' (permanently)' if args.permanent else ''}")
    return 0


ACTION_FUNCTIONS = {"register": register, "list": list_, "get": get, "check": check,
                    "config": config, "delete": delete}


# -- helpers ---------------------------------------------------------------------------

def _subject(args) -> str:
    if not args.subject:
        raise SystemExit(f"minikafka: error: schemas {args.action} needs --subject")
    return args.subject


def _schema_of(args) -> tuple[str, str, list[dict]]:
    """The schema's text, its type and its references, from the command line."""
    if args.schema_file is not None:
        text = args.schema_file.read_text()
        guessed = {".proto": "PROTOBUF", ".json": "JSON"}.get(args.schema_file.suffix, "AVRO")
    elif args.schema is not None:
        text, guessed = args.schema, "AVRO"
    else:
        raise SystemExit(f"minikafka: error: schemas {args.action} needs --schema-file or --schema")
    return text, args.schema_type or guessed, [_reference(text) for text in args.reference]


def _reference(text: str) -> dict:
    try:
        name, target = text.split("=", 1)
        subject, version = target.rsplit(":", 1)
        return {"name": name, "subject": subject, "version": int(version)}
    except ValueError:
        raise SystemExit(f"minikafka: error: --reference {text!r} is not NAME=SUBJECT:VERSION") from None


def _pretty(text: str, schema_type: str) -> str:
    if schema_type == "PROTOBUF":
        return text
    try:
        return json.dumps(json.loads(text), indent=2)
    except json.JSONDecodeError:
        return text


