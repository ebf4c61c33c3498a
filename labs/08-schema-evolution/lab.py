"""Lab 8: schema evolution with a compatibility-checking registry.

start: a topic ``payments`` whose values the broker validates
(``confluent.value.schema.validation=true``): every record must carry the
id of a schema registered under ``payments-value``.

check: v1 registered and then evolved compatibly (a new field with a
default); the breaking v3 refused and never registered; the subject held
to FULL compatibility; payments on the topic, every one naming a schema of
the subject; the refusal kept in ``refused.txt``.
"""

from __future__ import annotations

import json
import time

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=8, slug="schema-evolution", title="Schema evolution: a registry that refuses breaking changes",
          brokers=1, needs_schema_registry=True)
TOPIC = "payments"
SUBJECT = f"{TOPIC}-value"
V1_FIELDS = {"payment_id", "customer_id", "amount_cents"}


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1,
                                      configs={"confluent.value.schema.validation": "true"})])


def _registry(ctx: LabContext):
    from minikafka_clients.schema_registry import SchemaRegistryClient

    if not ctx.registry_url:
        raise RuntimeError("this lab needs the local cluster's schema registry (minikafka lab start 8)")
    return SchemaRegistryClient(ctx.registry_url)


def _versions(registry) -> list:
    from minikafka_clients.schema_registry import SchemaRegistryError

    try:
        return [registry.get_version(SUBJECT, v) for v in registry.list_versions(SUBJECT)]
    except SchemaRegistryError as exc:
        if exc.error_code == 40401:
            return []
        raise


def _fields(version) -> dict:
    return {field["name"]: field for field in json.loads(version.schema)["fields"]}


def check(ctx: LabContext, report: Report) -> None:
    with _registry(ctx) as registry:
        versions = _versions(registry)
        report.expect(len(versions) >= 1, f"'{SUBJECT}' has version 1 registered",
                      f"nothing registered under '{SUBJECT}'", hint="step 2: minikafka schemas register")
        if versions:
            _check_versions(registry, versions, report)
        _check_records(ctx, registry, report)
    refused = ctx.work_dir / "refused.txt"
    report.expect(refused.exists() and "incompatible" in refused.read_text(),
                  "refused.txt holds the registry's refusal of v3",
                  "no refused.txt with the registry's answer to v3", hint="step 6")


def _check_versions(registry, versions: list, report: Report) -> None:
    added = [name for version in versions[1:] for name, field in _fields(version).items()
             if name not in V1_FIELDS and "default" in field]
    report.expect(bool(added), f"an evolution added {sorted(set(added))} with defaults",
                  "no version adds a field with a default to v1",
                  hint="step 5: write payment-v2.avsc, check it, register it")
    breaking = [v.version for v in versions if "merchant_id" in _fields(v)
                and "default" not in _fields(v)["merchant_id"]]
    report.expect(not breaking, "the breaking v3 (merchant_id without a default) was never registered",
                  f"version(s) {breaking} add merchant_id without a default: a breaking change got in",
                  hint="delete it, and keep the subject's compatibility level on")
    level = registry.get_compatibility(SUBJECT)
    report.expect(level == "FULL", f"'{SUBJECT}' is held to FULL compatibility",
                  f"'{SUBJECT}' compatibility is {level}, not FULL", hint="step 7: minikafka schemas config")


def _check_records(ctx: LabContext, registry, report: Report) -> None:
    records = ctx.read_records(TOPIC)
    report.expect(len(records) >= 5, f"'{TOPIC}' holds {len(records)} payments",
                  f"'{TOPIC}' holds {len(records)} payments, not 5 or more", hint="step 3")
    ids = {int.from_bytes(record.value[1:5], "big") for record in records
           if record.value and len(record.value) >= 5 and record.value[0] == 0}
    registered = {version.schema_id for version in _versions(registry)}
    report.expect(bool(ids) and ids <= registered,
                  f"every payment names a schema of '{SUBJECT}' (ids {sorted(ids)})",
                  f"payments name schema ids {sorted(ids - registered)} not registered under '{SUBJECT}'")


def solve(ctx: LabContext) -> None:
    schemas = ctx.lab_dir / "schemas"
    solution = ctx.lab_dir / "solution"
    with _registry(ctx) as registry:
        registry.register(SUBJECT, (schemas / "payment-v1.avsc").read_text())
        ctx.run_solution("produce_payments", "--schema-registry-url", ctx.registry_url,
                         "--schema", str(schemas / "payment-v1.avsc"), "--count", "5")
        v2 = (solution / "payment-v2.avsc").read_text()
        compatible, reasons = registry.test_compatibility(SUBJECT, v2)
        if not compatible:
            raise RuntimeError(f"the reference v2 is refused: {reasons}")
        registry.register(SUBJECT, v2)
        ctx.run_solution("produce_payments", "--schema-registry-url", ctx.registry_url,
                         "--schema", str(solution / "payment-v2.avsc"), "--count", "2")
        refused = ctx.run("schemas", "check", "--schema-registry-url", ctx.registry_url,
                          "--subject", SUBJECT, "--schema-file", str(schemas / "payment-v3-breaking.avsc"),
                          check=False)
        (ctx.work_dir / "refused.txt").write_text(refused.stdout)
        registry.set_compatibility("FULL", SUBJECT)


def reset(ctx: LabContext) -> None:
    with _registry(ctx) as registry:
        if _versions(registry):
            registry.delete_subject(SUBJECT)
            registry.delete_subject(SUBJECT, permanent=True)
    with ctx.admin() as admin:
        if TOPIC in admin.list_topics():
            admin.delete_topics([TOPIC])
        deadline = time.monotonic() + 30
        while TOPIC in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)
