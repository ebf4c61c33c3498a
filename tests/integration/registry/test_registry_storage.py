"""The registry keeps its schemas in Kafka: restarts, second instances, leader failover, kill -9.

Every test runs real ``minikafka schema-registry`` processes against a real
broker process and talks to them over HTTP with Confluent's REST API.
"""

from __future__ import annotations

import json

from .harness import SESSION_TIMEOUT_MS, agreed_leader, wait_until


def avro_record(name: str, *fields: str) -> str:
    return json.dumps({"type": "record", "name": name,
                       "fields": [{"name": f, "type": "string", "default": ""} for f in fields]})


def test_restart_serves_the_same_subjects_and_ids(registries):
    first = registries()
    with first:
        ids = {("orders-value", 1): first.register("orders-value", avro_record("Order", "id")),
               ("orders-value", 2): first.register("orders-value", avro_record("Order", "id", "note")),
               ("users-value", 1): first.register("users-value", avro_record("User", "name"))}
        # The same schema under another subject keeps its id.
        same = first.register("archive-value", avro_record("User", "name"))
    assert same == ids[("users-value", 1)]
    assert len(set(ids.values())) == 3

    with registries() as second:
        assert second.subjects() == ["archive-value", "orders-value", "users-value"]
        for (subject, version), schema_id in ids.items():
            assert second.version(subject, version)["id"] == schema_id
        by_id = second.client.get(f"/schemas/ids/{ids[('orders-value', 2)]}").json()
        assert json.loads(by_id["schema"])["fields"][1]["name"] == "note"
        # New ids continue after the old ones.
        assert second.register("payments-value", avro_record("Payment", "amount")) > max(ids.values())


def test_a_second_instance_serves_the_same_ids_and_forwards_writes(registries):
    with registries() as a, registries() as b:
        leader = agreed_leader(a, b)
        follower = b if leader is a else a
        written_by_leader = leader.register("clicks-value", avro_record("Click", "url"))
        # A write sent to the follower is forwarded: the leader assigns the id.
        forwarded = follower.register("views-value", avro_record("View", "page"))
        assert forwarded != written_by_leader
        for registry in (leader, follower):
            wait_until(lambda r=registry: r.subjects() == ["clicks-value", "views-value"], 5,
                       f"{registry.url} to read both subjects")
            assert registry.version("clicks-value", 1)["id"] == written_by_leader
            assert registry.version("views-value", "latest")["id"] == forwarded
        # The follower forwarded rather than wrote: one writer, one log.
        assert follower.register("views-value", avro_record("View", "page")) == forwarded


def test_the_other_instance_takes_over_when_the_leader_is_killed(registries):
    with registries() as a, registries() as b:
        leader = agreed_leader(a, b)
        survivor = b if leader is a else a
        before = leader.register("events-value", avro_record("Event", "kind"))
        leader.kill()
        # The coordinator evicts the dead member after its session timeout.
        wait_until(survivor.is_leader, SESSION_TIMEOUT_MS / 1000 + 8, "the survivor to lead")
        after = survivor.register("events-value", avro_record("Event", "kind", "source"))
        assert after > before
        assert survivor.version("events-value", 1)["id"] == before
        assert survivor.version("events-value", 2)["id"] == after


def test_kill_9_loses_no_acknowledged_registration(registries):
    acknowledged = {}
    first = registries()
    with first:
        for i in range(25):
            subject = f"subject-{i}-value"
            acknowledged[subject] = first.register(subject, avro_record(f"R{i}", "a"))
        first.kill()  # right after the last acknowledgement: no clean shutdown
    with registries() as second:
        assert second.subjects() == sorted(acknowledged)
        for subject, schema_id in acknowledged.items():
            assert second.version(subject, 1)["id"] == schema_id
