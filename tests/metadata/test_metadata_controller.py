"""Controller scenarios: each a short script against a mock clock (ms).

Every test ends by replaying the records the controller wrote into a fresh
image and comparing: that is what every broker does, so the two must agree.
"""

from collections import Counter

import pytest

from metadata_helpers import Harness, check_invariants
from minikafka.errors import ErrorCode
from minikafka.metadata import MetadataImage
from minikafka.metadata import records as r


@pytest.fixture
def cluster():
    h = Harness(brokers=3)
    yield h
    check_invariants(h.image)
    assert h.replayed() == h.image


def leaders(h, name):
    topic = h.image.topic(name)
    return [topic.partitions[i].leader for i in sorted(topic.partitions)]


def test_three_brokers_register_and_unfence(cluster):
    assert sorted(cluster.image.brokers) == [0, 1, 2]
    assert cluster.image.active_broker_ids() == [0, 1, 2]
    assert cluster.image.brokers[1].end_points[0].port == 9093
    assert cluster.image.features == {"metadata.version": 25}


def test_broker_stays_fenced_until_caught_up():
    h = Harness(brokers=0)
    h.register(5)
    response = h.heartbeat(5, current_metadata_offset=h.epochs[5] - 1)
    assert (response["is_caught_up"], response["is_fenced"]) == (False, True)
    response = h.heartbeat(5)
    assert (response["is_caught_up"], response["is_fenced"]) == (True, False)


def test_heartbeat_with_stale_epoch_or_unknown_broker(cluster):
    stale = cluster.controller.broker_heartbeat({"broker_id": 0, "broker_epoch": 999}, 0).response
    assert stale["error_code"] == ErrorCode.STALE_BROKER_EPOCH
    unknown = cluster.controller.broker_heartbeat({"broker_id": 9, "broker_epoch": 0}, 0).response
    assert unknown["error_code"] == ErrorCode.BROKER_ID_NOT_REGISTERED


def test_create_topic_rf3_balances_replicas_and_leaders(cluster):
    result = cluster.create_topic("orders", 6, 3)
    assert result["error_code"] == ErrorCode.NONE and len(result["topic_id"]) == 16
    topic = cluster.image.topic("orders")
    for p in topic.partitions.values():
        assert sorted(p.replicas) == [0, 1, 2] and p.isr == p.replicas and p.leader == p.replicas[0]
        assert (p.leader_epoch, p.partition_epoch) == (0, 0)
    assert Counter(leaders(cluster, "orders")) == {0: 2, 1: 2, 2: 2}


def test_create_topic_errors(cluster):
    assert cluster.create_topic("big", 1, 4)["error_code"] == ErrorCode.INVALID_REPLICATION_FACTOR
    assert cluster.create_topic("bad name", 1, 1)["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert cluster.create_topic("t", 0, 1)["error_code"] == ErrorCode.INVALID_PARTITIONS
    cfg = cluster.create_topic("t", 1, 1, configs=[{"name": "retention.ms", "value": "x"}])
    assert cfg["error_code"] == ErrorCode.INVALID_CONFIG
    assert cluster.create_topic("a.b", 1, 1)["error_code"] == ErrorCode.NONE
    assert cluster.create_topic("a.b", 1, 1)["error_code"] == ErrorCode.TOPIC_ALREADY_EXISTS
    assert cluster.create_topic("a_b", 1, 1)["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert list(cluster.image.topic_ids) == ["a.b"]


def test_create_topic_defaults_and_validate_only():
    h = Harness(brokers=3, num_partitions=2, default_replication_factor=3)
    result = h.create_topic("d", -1, -1)
    assert (result["num_partitions"], result["replication_factor"]) == (2, 3)
    request = {"topics": [{"name": "v", "num_partitions": 1, "replication_factor": 1}], "validate_only": True}
    assert h.run(h.controller.create_topics(request, 0))["topics"][0]["error_code"] == ErrorCode.NONE
    assert h.image.topic("v") is None


def test_rf_larger_than_unfenced_brokers_is_refused(cluster):
    cluster.advance(10_000, heartbeating=[0, 1])  # broker 2 misses its heartbeats
    result = cluster.create_topic("t", 1, 3)
    assert result["error_code"] == ErrorCode.INVALID_REPLICATION_FACTOR
    assert "only 2 broker(s)" in result["error_message"]


def test_fenced_broker_loses_leaderships_and_isr_places(cluster):
    cluster.create_topic("t", 3, 3)
    led_by_2 = [i for i, leader in enumerate(leaders(cluster, "t")) if leader == 2]
    epochs = {i: cluster.partition("t", i).leader_epoch for i in range(3)}
    cluster.advance(9000, heartbeating=[0, 1])
    assert not cluster.image.brokers[2].fenced  # 9 s is the limit, not yet past it
    cluster.advance(1000, heartbeating=[0, 1])
    assert cluster.image.brokers[2].fenced
    for i in range(3):
        p = cluster.partition("t", i)
        assert 2 not in p.isr and p.leader in (0, 1)
        assert p.leader_epoch == epochs[i] + (1 if i in led_by_2 else 0)
    # It comes back: unfenced once caught up, but leads nothing until a preferred election.
    cluster.heartbeat(2)
    assert not cluster.image.brokers[2].fenced
    assert 2 not in leaders(cluster, "t")


def test_unfenced_broker_becomes_preferred_leader_again_after_rebalance():
    h = Harness(brokers=3, leader_imbalance_check_interval_ms=30_000)
    h.create_topic("t", 3, 3)
    preferred = leaders(h, "t")
    h.advance(10_000, heartbeating=[0, 1])
    for i in range(3):
        p = h.partition("t", i)
        h.alter_isr("t", i, p.isr)  # no-op ISR change: nothing written
    h.heartbeat(2)
    for i in range(3):  # the leader brings broker 2 back into the ISR once it caught up
        p = h.partition("t", i)
        assert h.alter_isr("t", i, p.isr + (2,))["error_code"] == ErrorCode.NONE
    assert leaders(h, "t") != preferred
    h.advance(20_000, heartbeating=[0, 1, 2])  # the rebalance timer fires at 30 s
    assert leaders(h, "t") == preferred
    check_invariants(h.image)
    assert h.replayed() == h.image


def test_last_isr_member_fenced_keeps_isr_and_goes_offline(cluster):
    cluster.create_topic("solo", 1, 1)
    owner = cluster.partition("solo", 0).leader
    others = [b for b in range(3) if b != owner]
    cluster.advance(10_000, heartbeating=others)
    p = cluster.partition("solo", 0)
    assert (p.leader, p.isr) == (-1, (owner,))
    cluster.heartbeat(owner)  # back: a clean leader again
    p = cluster.partition("solo", 0)
    assert (p.leader, p.isr) == (owner, (owner,))


def test_alter_partition_shrink_expand_and_fencing(cluster):
    cluster.create_topic("t", 1, 3)
    p = cluster.partition("t", 0)
    leader, follower = p.leader, p.replicas[-1]
    shrunk = tuple(b for b in p.isr if b != follower)
    response = cluster.alter_isr("t", 0, shrunk)
    assert response["error_code"] == ErrorCode.NONE
    assert response["isr"] == list(shrunk) and response["partition_epoch"] == p.partition_epoch + 1
    assert response["leader_epoch"] == p.leader_epoch  # an ISR change keeps the leader epoch
    stale = cluster.alter_isr("t", 0, p.isr, partition_epoch=p.partition_epoch)
    assert stale["error_code"] == ErrorCode.INVALID_UPDATE_VERSION
    old_leader = cluster.alter_isr("t", 0, p.isr, leader_epoch=p.leader_epoch - 1)
    assert old_leader["error_code"] == ErrorCode.FENCED_LEADER_EPOCH
    not_leader = cluster.alter_isr("t", 0, p.isr, broker_id=follower)
    assert not_leader["error_code"] == ErrorCode.INVALID_REQUEST
    without_leader = cluster.alter_isr("t", 0, [b for b in p.isr if b != leader])
    assert without_leader["error_code"] == ErrorCode.INVALID_REQUEST
    assert cluster.alter_isr("t", 0, p.isr)["error_code"] == ErrorCode.NONE
    assert cluster.partition("t", 0).isr == p.isr


def test_alter_partition_refuses_fenced_replica(cluster):
    cluster.create_topic("t", 1, 3)
    p = cluster.partition("t", 0)
    follower = p.replicas[-1]
    others = [b for b in range(3) if b != follower]
    cluster.advance(10_000, heartbeating=others)
    p = cluster.partition("t", 0)
    assert follower not in p.isr
    assert cluster.alter_isr("t", 0, p.isr + (follower,))["error_code"] == ErrorCode.INELIGIBLE_REPLICA
    stale = cluster.controller.alter_partition({"broker_id": 0, "broker_epoch": -5, "topics": []}, 0).response
    assert stale["error_code"] == ErrorCode.STALE_BROKER_EPOCH


@pytest.mark.parametrize("unclean", [False, True])
def test_unclean_leader_election(unclean):
    h = Harness(brokers=3, unclean_leader_election_enable=unclean)
    h.create_topic("t", 1, 2)
    p = h.partition("t", 0)
    leader, follower = p.replicas
    h.alter_isr("t", 0, [leader])  # the follower lags behind
    h.advance(10_000, heartbeating=[b for b in range(3) if b != leader])
    p = h.partition("t", 0)
    if unclean:
        assert (p.leader, p.isr) == (follower, (follower,))
    else:
        assert (p.leader, p.isr) == (-1, (leader,))
    check_invariants(h.image)
    assert h.replayed() == h.image


def test_unclean_election_per_topic_config_and_elect_leaders(cluster):
    cluster.create_topic("t", 1, 2)
    leader, follower = cluster.partition("t", 0).replicas
    cluster.alter_isr("t", 0, [leader])
    cluster.advance(10_000, heartbeating=[b for b in range(3) if b != leader])
    assert cluster.partition("t", 0).leader == -1
    request = {"election_type": 1, "topic_partitions": [{"topic": "t", "partitions": [0, 7]}]}
    results = cluster.run(cluster.controller.elect_leaders(request, 0))["replica_election_results"][0]
    assert [x["error_code"] for x in results["partition_result"]] == [ErrorCode.NONE,
                                                                      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    assert cluster.partition("t", 0).leader == follower


def test_enabling_unclean_config_elects_offline_partition(cluster):
    cluster.create_topic("t", 1, 2)
    leader, follower = cluster.partition("t", 0).replicas
    cluster.alter_isr("t", 0, [leader])
    cluster.advance(10_000, heartbeating=[b for b in range(3) if b != leader])
    request = {"resources": [{"resource_type": 2, "resource_name": "t", "configs": [
        {"name": "unclean.leader.election.enable", "config_operation": 0, "value": "true"}]}]}
    assert cluster.run(cluster.controller.incremental_alter_configs(request, 0))["responses"][0]["error_code"] == 0
    cluster.run(cluster.controller.tick(cluster.now_ms))
    assert cluster.partition("t", 0).leader == follower


def test_preferred_election_results(cluster):
    cluster.create_topic("t", 2, 3)
    p0 = cluster.partition("t", 0)
    # A controlled shutdown of partition 0's leader moves its leadership away.
    cluster.run(cluster.controller.broker_heartbeat(
        {"broker_id": p0.leader, "broker_epoch": cluster.epochs[p0.leader], "want_shut_down": True}, 0))
    assert cluster.partition("t", 0).leader != p0.leader
    request = {"election_type": 0, "topic_partitions": [{"topic": "t", "partitions": [0, 1]}]}
    results = cluster.run(cluster.controller.elect_leaders(request, 0))["replica_election_results"][0]
    codes = [x["error_code"] for x in results["partition_result"]]
    assert codes == [ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,  # partition 0: broker 0 is shutting down
                     ErrorCode.ELECTION_NOT_NEEDED]  # partition 1: its preferred leader, broker 1, leads


def test_controlled_shutdown_moves_everything_then_allows_exit(cluster):
    cluster.create_topic("t", 3, 3)
    first = cluster.heartbeat(1, want_shut_down=True)
    assert first["should_shut_down"] is False
    assert cluster.image.brokers[1].in_controlled_shutdown
    for i in range(3):
        p = cluster.partition("t", i)
        assert p.leader != 1 and 1 not in p.isr
    second = cluster.heartbeat(1, want_shut_down=True)
    assert second["should_shut_down"] is True and cluster.image.brokers[1].fenced
    assert cluster.create_topic("two", 1, 3)["error_code"] == ErrorCode.INVALID_REPLICATION_FACTOR
    assert cluster.heartbeat(1)["is_fenced"] is True  # it must register again to come back
    # Restart: a new incarnation registers (its old session is over, it said goodbye).
    cluster.advance(10_000, heartbeating=[0, 2])
    assert cluster.register(1, incarnation=9)["error_code"] == ErrorCode.NONE
    cluster.heartbeat(1)
    assert cluster.image.is_active(1)


def test_duplicate_registration_while_session_alive(cluster):
    assert cluster.register(0, incarnation=42)["error_code"] == ErrorCode.DUPLICATE_BROKER_REGISTRATION
    cluster.advance(10_000, heartbeating=[1, 2])
    assert cluster.register(0, incarnation=42)["error_code"] == ErrorCode.NONE


def test_restarted_broker_reregisters_fenced_and_loses_leaderships(cluster):
    cluster.create_topic("t", 3, 3)
    prev = cluster.epochs[0]
    assert cluster.register(0, previous_broker_epoch=prev, incarnation=50)["error_code"] == ErrorCode.NONE
    assert cluster.image.brokers[0].fenced and cluster.epochs[0] > prev
    assert all(0 not in cluster.partition("t", i).isr for i in range(3))


def test_reassignment_adds_then_removes_replicas():
    h = Harness(brokers=4)
    h.create_topic("t", 1, 3)
    p = h.partition("t", 0)
    new = next(b for b in range(4) if b not in p.replicas)
    old = p.replicas[-1]
    target = [b for b in p.replicas if b != old] + [new]
    request = {"topics": [{"name": "t", "partitions": [{"partition_index": 0, "replicas": target}]}]}
    response = h.run(h.controller.alter_partition_reassignments(request, 0))
    assert response["responses"][0]["partitions"][0]["error_code"] == ErrorCode.NONE
    p = h.partition("t", 0)
    assert p.adding_replicas == (new,) and p.removing_replicas == (old,)
    assert p.replicas == tuple(target) + (old,)
    listed = h.run(h.controller.list_partition_reassignments({"topics": None}, 0))["topics"]
    assert listed == [{"name": "t", "partitions": [{"partition_index": 0, "replicas": target + [old],
                                                    "adding_replicas": [new], "removing_replicas": [old]}]}]
    # The new replica catches up; the leader adds it to the ISR: the reassignment completes.
    assert h.alter_isr("t", 0, p.isr + (new,))["error_code"] == ErrorCode.NONE
    p = h.partition("t", 0)
    assert p.replicas == tuple(target) and not p.is_reassigning and old not in p.isr
    assert h.run(h.controller.list_partition_reassignments({"topics": None}, 0))["topics"] == []
    check_invariants(h.image)
    assert h.replayed() == h.image


def test_reassignment_cancel_and_errors():
    h = Harness(brokers=4)
    h.create_topic("t", 1, 2)
    p = h.partition("t", 0)
    new = [b for b in range(4) if b not in p.replicas]

    def reassign(replicas, index=0):
        request = {"topics": [{"name": "t", "partitions": [{"partition_index": index, "replicas": replicas}]}]}
        return h.run(h.controller.alter_partition_reassignments(request, 0))["responses"][0]["partitions"][0]

    assert reassign(None)["error_code"] == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
    assert reassign([new[0], new[0]])["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert reassign([99])["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
    assert reassign([0], index=5)["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert reassign(new)["error_code"] == ErrorCode.NONE
    assert h.partition("t", 0).is_reassigning
    assert reassign(None)["error_code"] == ErrorCode.NONE
    assert h.partition("t", 0).replicas == p.replicas and not h.partition("t", 0).is_reassigning
    check_invariants(h.image)
    assert h.replayed() == h.image


def test_delete_topic_and_create_partitions(cluster):
    topic_id = cluster.create_topic("t", 2, 2, configs=[{"name": "retention.ms", "value": "1000"}])["topic_id"]
    grow = {"topics": [{"name": "t", "count": 5, "assignments": None}]}
    assert cluster.run(cluster.controller.create_partitions(grow, 0))["results"][0]["error_code"] == 0
    assert sorted(cluster.image.topic("t").partitions) == [0, 1, 2, 3, 4]
    shrink = {"topics": [{"name": "t", "count": 3, "assignments": None}]}
    assert cluster.run(cluster.controller.create_partitions(shrink, 0))["results"][0]["error_code"] == \
        ErrorCode.INVALID_PARTITIONS
    by_id = {"topics": [{"name": None, "topic_id": topic_id}]}
    response = cluster.run(cluster.controller.delete_topics(by_id, 0))["responses"][0]
    assert (response["error_code"], response["name"]) == (ErrorCode.NONE, "t")
    assert cluster.image.topic("t") is None and not cluster.image.configs
    again = cluster.run(cluster.controller.delete_topics({"topic_names": ["t"]}, 0))["responses"][0]
    assert again["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_configs_incremental_and_legacy(cluster):
    cluster.create_topic("t", 1, 1)

    def alter(op, configs, kind=2, name="t"):
        request = {"resources": [{"resource_type": kind, "resource_name": name, "configs": configs}]}
        return cluster.run(getattr(cluster.controller, op)(request, 0))["responses"][0]

    assert alter("incremental_alter_configs", [{"name": "cleanup.policy", "config_operation": 2,
                                                "value": "compact"}])["error_code"] == 0
    assert alter("incremental_alter_configs", [{"name": "cleanup.policy", "config_operation": 2,
                                                "value": "delete"}])["error_code"] == 0
    assert cluster.image.topic_config("t") == {"cleanup.policy": "compact,delete"}
    assert alter("incremental_alter_configs", [{"name": "retention.ms", "config_operation": 2,
                                                "value": "5"}])["error_code"] == ErrorCode.INVALID_CONFIG
    assert alter("alter_configs", [{"name": "retention.ms", "value": "5"}])["error_code"] == 0
    assert cluster.image.topic_config("t") == {"retention.ms": "5"}
    assert alter("alter_configs", [{"name": "nope", "value": "5"}])["error_code"] == ErrorCode.INVALID_CONFIG
    assert alter("alter_configs", [], name="missing")["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert alter("incremental_alter_configs", [{"name": "log.retention.ms", "config_operation": 0,
                                                "value": "60000"}], kind=4, name="")["error_code"] == 0
    assert cluster.image.configs[(4, "")] == {"log.retention.ms": "60000"}
    assert alter("incremental_alter_configs", [{"name": "log.retention.ms", "config_operation": 1,
                                                "value": None}], kind=4, name="")["error_code"] == 0
    assert (4, "") not in cluster.image.configs


def test_producer_id_blocks(cluster):
    def allocate(broker_id):
        request = {"broker_id": broker_id, "broker_epoch": cluster.epochs[broker_id]}
        return cluster.run(cluster.controller.allocate_producer_ids(request, 0))

    assert allocate(0) == {"error_code": 0, "producer_id_start": 0, "producer_id_len": 1000}
    assert allocate(2)["producer_id_start"] == 1000
    assert cluster.image.next_producer_id == 2000
    stale = cluster.controller.allocate_producer_ids({"broker_id": 1, "broker_epoch": -3}, 0).response
    assert stale["error_code"] == ErrorCode.STALE_BROKER_EPOCH


def test_snapshot_round_trip(cluster):
    cluster.create_topic("t", 3, 3, configs=[{"name": "retention.ms", "value": "1000"}])
    cluster.create_topic("u", 1, 2)
    cluster.run(cluster.controller.allocate_producer_ids({"broker_id": 0, "broker_epoch": cluster.epochs[0]}, 0))
    cluster.advance(10_000, heartbeating=[0, 1])
    snapshot = cluster.controller.snapshot()
    assert MetadataImage.from_records(snapshot) == cluster.image
    assert MetadataImage.from_records(snapshot).to_records() == snapshot
    copy = cluster.image.copy()
    copy.apply(r.RemoveTopicRecord(copy.topic_ids["t"]))
    assert cluster.image.topic("t") is not None  # copies are independent


def test_standby_replay_and_failover_keeps_state(cluster):
    """A new active controller built from the committed image carries on."""
    from minikafka.metadata import ControllerConfig, QuorumController

    cluster.create_topic("t", 3, 3)
    standby = QuorumController(ControllerConfig(), MetadataImage(), now_ms=0)
    for record in cluster.log:
        standby.replay(record)
    assert standby.image == cluster.image
    standby.activate(cluster.now_ms)
    assert standby.tick(cluster.now_ms + 5000).records == []  # every broker got a fresh session
    fenced = standby.tick(cluster.now_ms + 9001).records
    assert sum(isinstance(x, r.FenceBrokerRecord) for x in fenced) == 3


def test_record_encoding_round_trip():
    records = [
        r.RegisterBrokerRecord(1, b"i" * 16, 7, (r.Endpoint("PLAINTEXT", "h", 9092, 0),), "rack-a"),
        r.PartitionChangeRecord(0, b"t" * 16, isr=(1, 2), leader=2),
        r.ConfigRecord(2, "t", "retention.ms", None),
        r.BrokerRegistrationChangeRecord(1, 7, fenced=-1, in_controlled_shutdown=1),
    ]
    for record in records:
        assert r.decode_record(r.encode_record(record)) == record
    with pytest.raises(ValueError):
        r.decode_record(b"\x93\x63\x00\x80")
