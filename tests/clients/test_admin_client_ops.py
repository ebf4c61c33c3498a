"""Every ``Admin`` operation against a real minikafka broker (in this Trio run; ``admin``: conftest.py)."""

from __future__ import annotations

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.testing import open_broker
from minikafka_clients import Admin, NewTopic, Producer
from minikafka_clients import admin as admin_ops
from minikafka_clients.admin import ConfigSource
from minikafka.protocol import messages


async def _produce(admin, topic, partition, count):
    bootstrap = admin.config["bootstrap.servers"]
    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        futures = [await producer.send(topic, b"v%d" % i, partition=partition) for i in range(count)]
        return [await future for future in futures]


async def test_topics_are_created_described_grown_and_deleted(admin):
    ids = await admin.create_topics([NewTopic("orders", num_partitions=2)])
    assert len(ids["orders"]) == 16 and any(ids["orders"])
    assert await admin.list_topics() == ["orders"]
    described = await admin.describe_topics(["orders"])
    assert sorted(described["orders"].partitions) == [0, 1]
    assert described["orders"].partitions[0].leader_id == 1

    await admin.create_partitions({"orders": 4})
    assert sorted((await admin.describe_topics(["orders"]))["orders"].partitions) == [0, 1, 2, 3]

    with pytest.raises(KafkaError) as info:
        await admin.create_topics([NewTopic("orders", 1)])
    assert info.value.code == ErrorCode.TOPIC_ALREADY_EXISTS

    await admin.delete_topics(["orders"])
    assert await admin.list_topics() == []


async def test_unknown_topic_fails_at_once_not_after_the_api_timeout(admin, autojump_clock):
    import trio

    start = trio.current_time()
    with pytest.raises(KafkaError) as info:
        await admin.describe_topics(["nope"])
    assert info.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    with pytest.raises(KafkaError) as info:
        await admin.delete_topics(["nope"])
    assert info.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert trio.current_time() - start < 1  # no retries: it will not appear by itself


async def test_configs_are_described_and_incrementally_altered(admin):
    await admin.create_topics([NewTopic("logs", 1)])
    before = await admin.describe_configs("logs", ["retention.ms", "cleanup.policy"])
    assert before["retention.ms"].source == ConfigSource.DEFAULT_CONFIG

    await admin.incremental_alter_configs("logs", set_configs={"retention.ms": "60000",
                                                               "cleanup.policy": "compact"})
    after = await admin.describe_configs("logs", ["retention.ms", "cleanup.policy"])
    assert after["retention.ms"].value == "60000"
    assert after["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert after["cleanup.policy"].value == "compact"

    await admin.incremental_alter_configs("logs", delete_configs=["retention.ms"])
    final = await admin.describe_configs("logs", ["retention.ms", "cleanup.policy"])
    assert final["retention.ms"].is_default
    assert final["cleanup.policy"].value == "compact"  # untouched: incremental


async def test_list_offsets_and_delete_records(admin):
    await admin.create_topics([NewTopic("events", 2)])
    produced = await _produce(admin, "events", 0, 5)
    specs = {("events", 0): admin_ops.EARLIEST, ("events", 1): admin_ops.LATEST}
    offsets = await admin.list_offsets(specs)
    assert offsets[("events", 0)].offset == 0
    assert offsets[("events", 1)].offset == 0  # empty partition
    latest = await admin.list_offsets({("events", 0): admin_ops.LATEST})
    assert latest[("events", 0)].offset == 5

    by_time = await admin.list_offsets({("events", 0): produced[0].timestamp_ms})
    assert by_time[("events", 0)].offset == 0
    assert by_time[("events", 0)].timestamp_ms == produced[0].timestamp_ms

    assert await admin.delete_records({("events", 0): 3}) == {("events", 0): 3}
    earliest = await admin.list_offsets({("events", 0): admin_ops.EARLIEST})
    assert earliest[("events", 0)].offset == 3
    assert await admin.delete_records({("events", 0): -1}) == {("events", 0): 5}  # -1: the HW

    with pytest.raises(KafkaError) as info:
        await admin.delete_records({("events", 0): 99})
    assert info.value.code == ErrorCode.OFFSET_OUT_OF_RANGE


async def test_group_offsets_are_altered_listed_and_the_group_deleted(admin):
    await admin.create_topics([NewTopic("clicks", 2)])
    await admin.alter_consumer_group_offsets("billing", {("clicks", 0): 7, ("clicks", 1): 2})
    offsets = await admin.list_consumer_group_offsets("billing")
    assert {tp: o.offset for tp, o in offsets.items()} == {("clicks", 0): 7, ("clicks", 1): 2}
    only = await admin.list_consumer_group_offsets("billing", [("clicks", 1)])
    assert list(only) == [("clicks", 1)]

    listed = await admin.list_consumer_groups()
    assert [(g.group_id, g.state) for g in listed] == [("billing", "Empty")]
    described = await admin.describe_consumer_groups(["billing", "ghost"])
    assert described["billing"].state == "Empty" and described["billing"].members == []
    assert not described["ghost"].exists

    await admin.delete_consumer_groups(["billing"])
    assert await admin.list_consumer_groups() == []
    with pytest.raises(KafkaError) as info:
        await admin.delete_consumer_groups(["billing"])
    assert info.value.code == ErrorCode.GROUP_ID_NOT_FOUND


async def test_describe_cluster_names_the_broker_and_controller(admin):
    description = await admin.describe_cluster()
    assert description.cluster_id
    assert description.controller_id == 1
    [node] = description.nodes
    assert (node.node_id, node.host) == (1, "127.0.0.1")
    assert admin.cluster.brokers[1] == (node.host, node.port)


async def test_elect_leaders_on_a_single_broker(admin):
    """One replica per partition: its leader already is the preferred one.

    A broker that serves ElectLeaders answers ELECTION_NOT_NEEDED; one that
    does not yet (the single-broker mode before the KRaft controller lands)
    is refused by the client from ApiVersions, before anything is sent.
    """
    await admin.create_topics([NewTopic("ha", 1)])
    served = 43 in (await admin.cluster.any_connection()).api_versions
    if served:
        outcome = await admin.elect_leaders([("ha", 0)])
        assert outcome == {("ha", 0): ErrorCode.ELECTION_NOT_NEEDED}
    else:
        with pytest.raises(KafkaError) as info:
            await admin.elect_leaders([("ha", 0)])
        assert info.value.code == ErrorCode.UNSUPPORTED_VERSION
        assert "ElectLeaders" in str(info.value)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_elect_leaders_declaration_round_trips(version):
    request, response = messages.REQUESTS[43], messages.RESPONSES[43]
    body = {"election_type": 1, "timeout_ms": 500,
            "topic_partitions": [{"topic": "t", "partitions": [0, 2]}]}
    decoded = request.decode(request.encode(body, version), version)
    assert decoded.topic_partitions[0].partitions == [0, 2]
    assert decoded.election_type == (1 if version >= 1 else 0)
    assert request.decode(request.encode({**body, "topic_partitions": None}, version),
                          version).topic_partitions is None
    answer = {"error_code": 0, "replica_election_results": [
        {"topic": "t", "partition_result": [{"partition_id": 0, "error_code": 84,
                                             "error_message": None}]}]}
    result = response.decode(response.encode(answer, version), version)
    assert result.replica_election_results[0].partition_result[0].error_code == 84
    assert messages.API_NAMES[43] == "ElectLeaders"


async def test_errors_reach_the_caller_unwrapped(tmp_path):
    """Not inside an ExceptionGroup from the nursery that runs the readers."""
    async with open_broker(tmp_path / "data") as broker:
        config = {"bootstrap.servers": f"127.0.0.1:{broker.bound_ports[0]}"}
        with pytest.raises(KafkaError) as info:
            async with Admin(config) as client:
                await client.create_topics([NewTopic("twice", 1)])
                await client.create_topics([NewTopic("twice", 1)])
        assert info.value.code == ErrorCode.TOPIC_ALREADY_EXISTS


async def test_an_unreachable_cluster_fails_at_once(tmp_path):
    from minikafka_clients import KafkaConnectionError
    from tests.integration.harness import free_port

    with pytest.raises(KafkaConnectionError, match="cannot connect"):
        async with Admin({"bootstrap.servers": f"127.0.0.1:{free_port()}"}):
            pass
