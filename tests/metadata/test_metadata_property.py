"""Hypothesis: random operation sequences keep the controller's invariants.

After every operation: no partition's leader is outside its ISR or on an
inactive broker, and no partition is leaderless while an active ISR member
exists (see ``check_invariants``). At the end, replaying the written records
(through their byte encoding) rebuilds exactly the controller's image, and so
does its snapshot.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_helpers import Harness, check_invariants
from minikafka.metadata import MetadataImage

BROKERS = 4
OPERATIONS = ["create", "delete", "grow", "time", "heartbeat", "shutdown", "reregister", "shrink", "expand",
              "stale_isr", "preferred", "unclean_election", "reassign", "cancel", "unclean_config", "pids",
              "quota"]
QUOTA_ENTITIES = [[("user", "u")], [("user", None)], [("client-id", "c"), ("user", "u")], [("client-id", None)],
                  [("ip", "10.0.0.1")], [("ip", None)]]
QUOTA_KEYS = ["producer_byte_rate", "request_percentage", "connection_creation_rate"]


def some_partition(h, data):
    names = sorted(h.image.topic_ids)
    if not names:
        return None
    name = data.draw(st.sampled_from(names))
    return name, data.draw(st.sampled_from(sorted(h.image.topic(name).partitions)))


def alter(h, data, kind):
    picked = some_partition(h, data)
    if picked is None:
        return
    name, index = picked
    p = h.partition(name, index)
    if p.leader == -1:
        return
    if kind == "shrink":
        isr = [b for b in p.isr if b == p.leader or data.draw(st.booleans())]
        h.alter_isr(name, index, isr)
    elif kind == "expand":
        isr = list(p.isr) + [b for b in p.replicas if b not in p.isr and data.draw(st.booleans())]
        h.alter_isr(name, index, isr)
    else:
        h.alter_isr(name, index, list(p.replicas), partition_epoch=p.partition_epoch - 1)


def step(h, data, op):
    broker = data.draw(st.integers(0, BROKERS - 1))
    c = h.controller
    if op == "create":
        h.create_topic(data.draw(st.sampled_from("abcde")), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3)))
    elif op == "delete":
        h.run(c.delete_topics({"topic_names": [data.draw(st.sampled_from("abcde"))]}, h.now_ms))
    elif op == "grow":
        request = {"topics": [{"name": data.draw(st.sampled_from("abcde")), "count": data.draw(st.integers(1, 6))}]}
        h.run(c.create_partitions(request, h.now_ms))
    elif op == "time":
        alive = [b for b in range(BROKERS) if b in h.epochs and data.draw(st.booleans())]
        h.advance(data.draw(st.sampled_from([1000, 5000, 10_000])), heartbeating=alive)
    elif op == "heartbeat" and broker in h.epochs:
        h.heartbeat(broker)
    elif op == "shutdown" and broker in h.epochs:
        h.heartbeat(broker, want_shut_down=True)
    elif op == "reregister":
        h.register(broker, incarnation=data.draw(st.integers(1, 200)),
                   previous_broker_epoch=h.epochs.get(broker, -1))
    elif op in ("shrink", "expand", "stale_isr"):
        alter(h, data, op)
    elif op in ("preferred", "unclean_election") and (picked := some_partition(h, data)):
        request = {"election_type": 0 if op == "preferred" else 1,
                   "topic_partitions": [{"topic": picked[0], "partitions": [picked[1]]}]}
        h.run(c.elect_leaders(request, h.now_ms))
    elif op == "reassign" and (picked := some_partition(h, data)):
        replicas = data.draw(st.lists(st.integers(0, BROKERS - 1), min_size=1, max_size=3, unique=True))
        request = {"topics": [{"name": picked[0], "partitions": [{"partition_index": picked[1], "replicas": replicas}]}]}
        h.run(c.alter_partition_reassignments(request, h.now_ms))
    elif op == "cancel" and (picked := some_partition(h, data)):
        request = {"topics": [{"name": picked[0], "partitions": [{"partition_index": picked[1], "replicas": None}]}]}
        h.run(c.alter_partition_reassignments(request, h.now_ms))
    elif op == "unclean_config" and (picked := some_partition(h, data)):
        value = data.draw(st.sampled_from(["true", "false"]))
        request = {"resources": [{"resource_type": 2, "resource_name": picked[0], "configs": [
            {"name": "unclean.leader.election.enable", "config_operation": 0, "value": value}]}]}
        h.run(c.incremental_alter_configs(request, h.now_ms))
    elif op == "quota":
        pairs = data.draw(st.sampled_from(QUOTA_ENTITIES))
        ops = [{"key": key, "value": float(data.draw(st.integers(-1, 3))), "remove": data.draw(st.booleans())}
               for key in data.draw(st.lists(st.sampled_from(QUOTA_KEYS), min_size=1, max_size=2, unique=True))]
        request = {"entries": [{"entity": [{"entity_type": t, "entity_name": n} for t, n in pairs], "ops": ops}],
                   "validate_only": data.draw(st.booleans())}
        h.run(c.alter_client_quotas(request, h.now_ms))
    elif op == "pids" and broker in h.epochs:
        h.run(c.allocate_producer_ids({"broker_id": broker, "broker_epoch": h.epochs[broker]}, h.now_ms))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_operations_keep_invariants_and_replay_identically(data):
    h = Harness(brokers=data.draw(st.integers(1, BROKERS)))
    for op in data.draw(st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=40)):
        step(h, data, op)
        check_invariants(h.image)
    replayed = h.replayed()
    assert replayed == h.image
    assert MetadataImage.from_records(h.image.to_records()) == h.image
