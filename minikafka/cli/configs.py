"""``minikafka configs``: describe and alter dynamic configs and client quotas.

The part of ``kafka-configs.sh`` that minikafka has, with its options and its
output. An *entity* is what a config belongs to::

    --entity-type topics   --entity-name orders     topic configs (IncrementalAlterConfigs)
    --entity-type brokers  --entity-name 1          one broker's dynamic configs
    --entity-type brokers  --entity-default         the cluster-wide broker defaults
    --entity-type clients  --entity-name billing    quotas of client id 'billing'
    --entity-type users    --entity-name alice      quotas of user 'alice'
    --entity-type ips      --entity-name 10.0.0.7   connection_creation_rate of an IP
    --entity-type client-metrics --entity-name all  a client-metrics subscription (KIP-714)

``--entity-default`` in place of a name means the default entity of that type
(every user, client or IP without its own quota). Users and clients combine:
``--entity-type users --entity-name alice --entity-type clients --entity-name
billing`` is client id 'billing' when user 'alice' runs it. Names and
defaults pair with the types in the order they are given.

``--add-config k=v,k2=v2`` sets keys (a value holding commas goes in square
brackets: ``k=[a,b]``), ``--delete-config k,k2`` removes them; deleting a key
that is not set fails with ``Invalid config(s)``, as in Kafka. Topic and
broker configs are strings checked by the broker; quota values are numbers
(doubles), and only quota keys are accepted for users, clients and IPs.

What it prints, as ``kafka-configs.sh`` prints it::

    Dynamic configs for topic orders are:
      retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, ...}
    Quota configs for client-id 'billing' are producer_byte_rate=1048576.0
    Completed updating config for client billing.
    Completed updating default config for users in the cluster.

The checks of the command line are Kafka's, with its messages; a refused
request prints the broker's error message and Kafka's error name. Either way
the exit status is 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket

from minikafka.cli import client_quotas as cq
from minikafka.quotas.entity import CLIENT_ID, CLIENT_QUOTA_KEYS, IP, IP_QUOTA_KEYS, USER, normalize_entity

TOPICS, CLIENTS, USERS, BROKERS, IPS = "topics", "clients", "users", "brokers", "ips"
CLIENT_METRICS = "client-metrics"
ENTITY_TYPES = (TOPICS, CLIENTS, USERS, BROKERS, IPS, CLIENT_METRICS)
_RESOURCE_ENTITIES = (TOPICS, BROKERS, CLIENT_METRICS)  # configs of a ConfigResource, not quotas
_QUOTA_TYPE = {USERS: USER, CLIENTS: CLIENT_ID, IPS: IP}
DEFAULT = ""  # the entity name that --entity-default stands for, as in Kafka

# A separator (",", "=") counts only outside [...] (Kafka's lookahead).
_OUTSIDE_BRACKETS = r"(?=[^\]]*(?:\[|$))"
_VALID_KEY = re.compile(r"[a-zA-Z0-9._-]*")


class ConfigCommandError(Exception):
    """A command line that ``kafka-configs.sh`` refuses, with its message."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--describe", action="store_true", help="list configs of the entity")
    action.add_argument("--alter", action="store_true", help="alter configs of the entity")
    parser.add_argument("--all", action="store_true",
                        help="describe topics/brokers: every config, not only dynamic ones")
    parser.add_argument("--entity-type", action="append", default=[], metavar="TYPE",
                        help=f"one of {', '.join(ENTITY_TYPES)}; users and clients may "
                        "be given together")
    # Names and defaults share one list so that they pair with the types in order.
    parser.add_argument("--entity-name", action="append", dest="entity_names", default=[],
                        metavar="NAME", help="topic name, client id, user, broker id or IP")
    parser.add_argument("--entity-default", action="append_const", dest="entity_names",
                        const=DEFAULT, help="the default entity of users, clients, brokers or ips")
    parser.add_argument("--add-config", action="append", default=[], metavar="K=V[,K=V]",
                        help="configs to set; square brackets group a value with commas: "
                        "k1=v1,k2=[v1,v2],k3=v3")
    parser.add_argument("--delete-config", action="append", default=[], metavar="K[,K]",
                        help="config keys to remove")


def run(args: argparse.Namespace) -> int:
    import trio

    check_args(args)
    to_add, to_delete = parse_add_config(args.add_config), parse_delete_config(args.delete_config)
    return trio.run(_run, args, to_add, to_delete)


async def _run(args: argparse.Namespace, to_add: dict[str, str], to_delete: list[str]) -> int:
    from minikafka_clients import Admin

    config = {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-configs"}
    async with Admin(config) as admin:
        if args.alter:
            await alter(admin, args.entity_type, args.entity_names, to_add, to_delete)
        else:
            await describe(admin, args.entity_type, args.entity_names, describe_all=args.all)
    return 0


# -- the command line -------------------------------------------------------------

def check_args(args: argparse.Namespace) -> None:
    """Kafka's ``ConfigCommandOptions.checkArgs``, for the options minikafka has."""
    types, names = args.entity_type, args.entity_names
    if args.describe and (args.add_config or args.delete_config):
        raise ConfigCommandError("Option --describe can't be used with --add-config or "
                                 "--delete-config")
    _check_types(types)
    _check_names(types, names)
    has_name = any(n != DEFAULT for n in names)
    has_default = DEFAULT in names
    if args.describe and has_default and not set(types) & {USERS, CLIENTS, BROKERS, IPS}:
        raise ConfigCommandError(f"--entity-default must not be specified with --describe of "
                                 f"{','.join(types)}")
    if args.alter:
        _check_alter(args, has_name, has_default)


def _check_types(types: list[str]) -> None:
    duplicates = sorted({t for t in types if types.count(t) > 1})
    if duplicates:
        raise ConfigCommandError(f"Duplicate entity type(s) specified: {','.join(duplicates)}")
    for entity_type in types:
        if entity_type not in ENTITY_TYPES:
            raise ConfigCommandError(
                f"Invalid entity type {entity_type}, the entity type must be one of "
                f"{', '.join(ENTITY_TYPES[:-1])} with a --bootstrap-server argument")
    if not types:
        raise ConfigCommandError("At least one entity type must be specified")
    if len(types) > 1 and set(types) != {USERS, CLIENTS}:
        raise ConfigCommandError(f"Only '{USERS}' and '{CLIENTS}' entity types may be "
                                 "specified together")


def _check_names(types: list[str], names: list[str]) -> None:
    given = [n for n in names if n != DEFAULT]
    if types[0] == BROKERS:
        for name in given:
            if not re.fullmatch(r"-?\d+", name):
                raise ConfigCommandError(f"The entity name for {BROKERS} must be a valid "
                                         f"integer broker id, but it is: {name}")
    if types[0] == IPS:
        for name in given:
            if not is_valid_ip_entity(name):
                raise ConfigCommandError(f"The entity name for {IPS} must be a valid IP or "
                                         f"resolvable host, but it is: {name}")


def is_valid_ip_entity(name: str) -> bool:
    """An IP address, or a host name that resolves (Kafka's ``isValidIpEntity``)."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    try:
        socket.getaddrinfo(name, None)
        return True
    except (OSError, UnicodeError):
        return False


def _check_alter(args: argparse.Namespace, has_name: bool, has_default: bool) -> None:
    types = args.entity_type
    if set(types) & {USERS, CLIENTS, BROKERS, IPS}:
        if not has_name and not has_default:
            raise ConfigCommandError("An entity-name or default entity must be specified with "
                                     "--alter of users, clients, brokers or ips")
    elif not has_name:
        raise ConfigCommandError(f"An entity name must be specified with --alter of "
                                 f"{','.join(types)}")
    if not args.add_config and not args.delete_config:
        raise ConfigCommandError("At least one of --add-config or --delete-config must be "
                                 "specified with --alter")
    if len(types) != len(args.entity_names):
        raise ConfigCommandError("An entity name must be specified for every entity type")


def parse_add_config(texts: list[str]) -> dict[str, str]:
    """``["k1=v1,k2=[a,b]"]`` -> ``{"k1": "v1", "k2": "a,b"}`` (kafka-configs.sh's syntax)."""
    configs = {}
    for text in texts:
        for item in re.split("," + _OUTSIDE_BRACKETS, text):
            pair = re.split(r"\s*=\s*" + _OUTSIDE_BRACKETS, item)
            if len(pair) != 2:
                raise ConfigCommandError('Invalid entity config: all configs to be added must '
                                         'be in the format "key=val".')
            key, value = pair[0].strip(), re.sub(r"[\[\]]", "", pair[1]).strip()
            if not _VALID_KEY.fullmatch(key):
                raise ConfigCommandError(f"Invalid character found for config key: {key}")
            configs[key] = value
    return configs


def parse_delete_config(texts: list[str]) -> list[str]:
    """``["k1,k2", "k3"]`` -> ``["k1", "k2", "k3"]``."""
    return [key.strip() for text in texts for key in text.split(",")]


# -- describe ----------------------------------------------------------------------

async def describe(admin, types: list[str], names: list[str], *, describe_all: bool) -> None:
    """Print the configs of the entity (or of every entity of the type, without a name)."""
    if types[0] in _RESOURCE_ENTITIES:
        await _describe_resources(admin, types[0], names[0] if names else None, describe_all)
    else:
        await _describe_quotas(admin, types, names)


async def _describe_resources(admin, entity_type: str, name: str | None,
                              describe_all: bool) -> None:
    if name is not None:
        names = [name]
    elif entity_type == CLIENT_METRICS:  # listing them needs ListClientMetricsResources, not in minikafka
        raise ConfigCommandError(f"An entity name must be specified with --describe of {CLIENT_METRICS}")
    elif entity_type == TOPICS:
        names = await admin.list_topics(list_internal=True)
    else:
        nodes = (await admin.describe_cluster()).nodes
        names = [str(node.node_id) for node in nodes] + [DEFAULT]
    for resource_name in names:
        if resource_name == DEFAULT:
            print(f"Default configs for {entity_type} in the cluster are:")
        else:
            kind = "All" if describe_all else "Dynamic"
            print(f"{kind} configs for {entity_type[:-1]} {resource_name} are:")
        for entry in await resource_configs(admin, entity_type, resource_name, describe_all):
            synonyms = ", ".join(f"{source_name(source)}:{key}={_java(value)}"
                                 for key, value, source in entry.synonyms)
            print(f"  {entry.name}={_java(entry.value)} "
                  f"sensitive={str(entry.is_sensitive).lower()} synonyms={{{synonyms}}}")


def _java(value) -> str:
    return "null" if value is None else str(value)


def source_name(source) -> str:
    """Java's ``ConfigEntry.ConfigSource`` name of a ``ConfigSource``."""
    java_names = {7: "DYNAMIC_CLIENT_METRICS_CONFIG", 8: "DYNAMIC_GROUP_CONFIG"}
    return java_names.get(int(source), source.name)


async def resource_configs(admin, entity_type: str, name: str, describe_all: bool = False):
    """The entries kafka-configs.sh shows: the dynamic ones (or all), sorted by name."""
    entries = await admin.describe_configs(name, resource_type=_resource_type(entity_type),
                                           include_synonyms=True)
    if describe_all:
        return sorted(entries.values(), key=lambda e: e.name)
    return dynamic_entries(entries, entity_type, name)


def dynamic_entries(entries: dict, entity_type: str, name: str) -> list:
    """The entries set on the resource itself (its overrides), sorted by name.

    ``entries`` is a DescribeConfigs answer, ``{name: ConfigEntry}``; a topic's
    own overrides are DYNAMIC_TOPIC_CONFIG, a broker's DYNAMIC_BROKER_CONFIG,
    the cluster default's DYNAMIC_DEFAULT_BROKER_CONFIG.
    """
    from minikafka_clients.admin import ConfigSource

    if entity_type == TOPICS:
        dynamic = ConfigSource.DYNAMIC_TOPIC_CONFIG
    elif entity_type == CLIENT_METRICS:
        dynamic = ConfigSource.CLIENT_METRICS_CONFIG
    elif name == DEFAULT:
        dynamic = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
    else:
        dynamic = ConfigSource.DYNAMIC_BROKER_CONFIG
    return sorted((e for e in entries.values() if e.source == dynamic), key=lambda e: e.name)


def _resource_type(entity_type: str) -> int:
    """Kafka's ``ConfigResource.Type`` of ``topics``, ``brokers`` or ``client-metrics``."""
    from minikafka.config import ResourceType
    from minikafka_clients import BROKER_RESOURCE, TOPIC_RESOURCE

    if entity_type == CLIENT_METRICS:
        return int(ResourceType.CLIENT_METRICS)
    return TOPIC_RESOURCE if entity_type == TOPICS else BROKER_RESOURCE


async def _describe_quotas(admin, types: list[str], names: list[str]) -> None:
    if len(names) > len(types):
        raise ConfigCommandError("More entity names specified than entity types")
    components = []
    for index, entity_type in enumerate(types):
        quota_type = _QUOTA_TYPE[entity_type]
        if index >= len(names):
            components.append(cq.FilterComponent(quota_type, "any"))
        elif names[index] == DEFAULT:
            components.append(cq.FilterComponent(quota_type, "default"))
        else:
            components.append(cq.FilterComponent(quota_type, "exact", names[index]))
    found = await cq.describe_quotas(admin, components, strict=True)
    for entity, values in sorted(found.items(), key=_entity_order):
        text = ", ".join(f"{k}={cq.java_double(v)}" for k, v in sorted(values.items()))
        print(f"Quota configs for {cq.describe_entity(entity)} are {text}")


def _entity_order(item) -> tuple:
    return tuple((entity_type, name is not None, name or "") for entity_type, name in item[0])


# -- alter ---------------------------------------------------------------------------

async def alter(admin, types: list[str], names: list[str], to_add: dict[str, str],
                to_delete: list[str]) -> None:
    """Apply ``--add-config`` and ``--delete-config`` to the entity; print Kafka's line."""
    if types[0] in _RESOURCE_ENTITIES:
        await alter_resource_configs(admin, types[0], names[0], to_add, to_delete)
    else:
        _check_quota_keys(types, to_add, to_delete)
        await _alter_quotas(admin, types, names, to_add, to_delete)
    if names[0] != DEFAULT:
        print(f"Completed updating config for {types[0][:-1]} {names[0]}.")
    else:
        print(f"Completed updating default config for {types[0]} in the cluster.")


async def alter_resource_configs(admin, entity_type: str, name: str, to_add: dict[str, str],
                                 to_delete: list[str]) -> None:
    """IncrementalAlterConfigs SET/DELETE on a topic or broker; every key to delete must
    be set now (Kafka's rule)."""
    current = {e.name for e in await resource_configs(admin, entity_type, name)}
    _check_deletable(to_delete, current)
    await admin.incremental_alter_configs(name, resource_type=_resource_type(entity_type),
                                          set_configs=to_add, delete_configs=to_delete)


def _check_deletable(to_delete: list[str], current) -> None:
    from minikafka.errors import ErrorCode, KafkaError

    missing = [key for key in to_delete if key not in current]
    if missing:
        raise KafkaError(ErrorCode.INVALID_CONFIG, f"Invalid config(s): {','.join(missing)}")


def _check_quota_keys(types: list[str], to_add: dict[str, str], to_delete: list[str]) -> None:
    """Only quota keys for users, clients and IPs (minikafka has no SCRAM credentials)."""
    if types[0] == IPS:
        unknown = [k for k in list(to_add) + to_delete if k not in IP_QUOTA_KEYS]
        if unknown:
            raise ConfigCommandError(f"Only connection quota configs can be added for '{IPS}' "
                                     f"using --bootstrap-server. Unexpected config names: "
                                     f"{','.join(unknown)}")
        return
    named = CLIENTS if CLIENTS in types else USERS
    for verb, keys in (("added", list(to_add)), ("deleted", to_delete)):
        unknown = [k for k in keys if k not in CLIENT_QUOTA_KEYS]
        if unknown:
            raise ConfigCommandError(f"Only quota configs can be {verb} for '{named}' using "
                                     f"--bootstrap-server. Unexpected config names: "
                                     f"{','.join(unknown)}")


async def _alter_quotas(admin, types: list[str], names: list[str], to_add: dict[str, str],
                        to_delete: list[str]) -> None:
    pairs = [(_QUOTA_TYPE[t], None if n == DEFAULT else n) for t, n in zip(types, names)]
    entity = normalize_entity(pairs)
    exact = [cq.FilterComponent(t, "default") if n is None else cq.FilterComponent(t, "exact", n)
             for t, n in pairs]
    current = (await cq.describe_quotas(admin, exact, strict=True)).get(entity, {})
    _check_deletable(to_delete, current)
    await cq.alter_quotas(admin, entity, set_quotas=_quota_values(to_add), remove=to_delete)


def _quota_values(to_add: dict[str, str]) -> dict[str, float]:
    values = {}
    for key, text in to_add.items():
        try:
            if "_" in text:  # Python reads 1_000, Java's Double.parseDouble does not
                raise ValueError(text)
            values[key] = float(text)
        except ValueError:
            raise ConfigCommandError(f"Cannot parse quota configuration value for {key}: "
                                     f"{text}") from None
    return values
