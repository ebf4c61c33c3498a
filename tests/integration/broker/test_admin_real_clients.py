"""The admin API against unmodified real clients: confluent-kafka (librdkafka) and kafka-python.

One broker (in a background thread) serves the whole module; each test uses
its own topic names.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from minikafka.testing import BrokerThread

TIMEOUT_S = 10
TOPIC_CONFIG_SOURCE = 1  # confluent_kafka.admin.ConfigSource.DYNAMIC_TOPIC_CONFIG


@pytest.fixture(scope="module")
def broker_thread(tmp_path_factory):
    with BrokerThread(tmp_path_factory.mktemp("admin"), auto_create_topics_enable=False) as thread:
        yield thread


@pytest.fixture(scope="module")
def admin(broker_thread):
    return AdminClient({"bootstrap.servers": broker_thread.bootstrap})


def fresh(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait(futures: dict):
    return {key: future.result(timeout=TIMEOUT_S) for key, future in futures.items()}


def kafka_code(call):
    with pytest.raises(KafkaException) as info:
        call()
    error = info.value.args[0]
    return error.name(), error.str()


def topic_configs(admin, name) -> dict:
    (entries,) = wait(admin.describe_configs([ConfigResource("topic", name)])).values()
    return entries


def test_create_with_configs_and_describe(admin, broker_thread):
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 3, 1, config={"retention.ms": "3600000",
                                                           "cleanup.policy": "compact"})]))
    info = broker_thread.call(broker_thread.broker.topics.get, name)
    assert info.num_partitions == 3
    entries = topic_configs(admin, name)
    assert entries["retention.ms"].value == "3600000"
    assert entries["retention.ms"].source == TOPIC_CONFIG_SOURCE
    assert entries["cleanup.policy"].value == "compact"
    assert entries["segment.bytes"].value == "1073741824"
    assert entries["segment.bytes"].is_default
    metadata = admin.list_topics(name, timeout=TIMEOUT_S)
    assert len(metadata.topics[name].partitions) == 3


def test_create_errors_and_validate_only(admin, broker_thread):
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 1, 1)], validate_only=True))
    assert broker_thread.call(broker_thread.broker.topics.get, name) is None
    futures = admin.create_topics([NewTopic(fresh(), 1, 3), NewTopic(fresh(), 1, 1, config={"bogus": "1"}),
                                   NewTopic("bad name!", 1, 1)])
    codes = [kafka_code(lambda f=f: f.result(timeout=TIMEOUT_S))[0] for f in futures.values()]
    assert codes == ["INVALID_REPLICATION_FACTOR", "INVALID_CONFIG", "TOPIC_EXCEPTION"]  # librdkafka's names
    wait(admin.create_topics([NewTopic(name, 1, 1)]))
    code, _ = kafka_code(lambda: wait(admin.create_topics([NewTopic(name, 1, 1)])))
    assert code == "TOPIC_ALREADY_EXISTS"


def test_incremental_alter_topic_config(admin):
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 1, 1, config={"retention.ms": "3600000"})]))
    resource = ConfigResource("topic", name, incremental_configs=[
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("segment.ms", "60000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
    ])
    wait(admin.incremental_alter_configs([resource]))
    entries = topic_configs(admin, name)
    assert entries["retention.ms"].value == "604800000" and entries["retention.ms"].is_default
    assert entries["segment.ms"].value == "60000"
    assert entries["cleanup.policy"].value == "delete,compact"
    bad = ConfigResource("topic", name, incremental_configs=[
        ConfigEntry("segment.ms", "0", incremental_operation=AlterConfigOpType.SET)])
    code, message = kafka_code(lambda: wait(admin.incremental_alter_configs([bad])))
    assert code == "INVALID_CONFIG" and "segment.ms" in message


def test_broker_configs_describe_and_alter(admin, broker_thread):
    (entries,) = wait(admin.describe_configs([ConfigResource("broker", "1")])).values()
    assert entries["num.partitions"].value == "1" and entries["num.partitions"].is_read_only
    assert entries["log.retention.hours"].value == "168"
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 1, 1)]))
    # confluent-kafka refuses the empty name (cluster default); the per-broker layer works
    resource = ConfigResource("broker", "1", incremental_configs=[
        ConfigEntry("log.retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
    wait(admin.incremental_alter_configs([resource]))
    try:
        entry = topic_configs(admin, name)["retention.ms"]
        assert entry.value == "7200000" and entry.source == 2  # DYNAMIC_BROKER_CONFIG
        log_config = broker_thread.call(lambda: broker_thread.broker.partition(name, 0).log.config)
        assert log_config.retention_ms == 7200000  # the open log picked it up
    finally:
        resource = ConfigResource("broker", "1", incremental_configs=[
            ConfigEntry("log.retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
        wait(admin.incremental_alter_configs([resource]))


def test_create_partitions(admin, broker_thread):
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 1, 1)]))
    wait(admin.create_partitions([NewPartitions(name, 4)], validate_only=True))
    assert broker_thread.call(broker_thread.broker.topics.get, name).num_partitions == 1
    wait(admin.create_partitions([NewPartitions(name, 4)]))
    assert len(admin.list_topics(name, timeout=TIMEOUT_S).topics[name].partitions) == 4
    code, _ = kafka_code(lambda: wait(admin.create_partitions([NewPartitions(name, 2)])))
    assert code == "INVALID_PARTITIONS"


def test_delete_records(admin, broker_thread):
    from confluent_kafka import Producer

    name = fresh()
    wait(admin.create_topics([NewTopic(name, 1, 1)]))
    producer = Producer({"bootstrap.servers": broker_thread.bootstrap})
    for i in range(10):
        producer.produce(name, value=b"v%d" % i)
    assert producer.flush(TIMEOUT_S) == 0
    (deleted,) = wait(admin.delete_records([TopicPartition(name, 0, 4)])).values()
    assert deleted.low_watermark == 4
    low, high = admin_watermarks(broker_thread, name)
    assert (low, high) == (4, 10)
    (deleted,) = wait(admin.delete_records([TopicPartition(name, 0, -1)])).values()
    assert deleted.low_watermark == 10
    code, _ = kafka_code(lambda: wait(admin.delete_records([TopicPartition(name, 0, 11)])))
    assert code == "OFFSET_OUT_OF_RANGE"


def admin_watermarks(broker_thread, name):
    partition = broker_thread.call(broker_thread.broker.partition, name, 0)
    return partition.log_start_offset, partition.high_watermark


def test_describe_cluster(admin, broker_thread):
    result = admin.describe_cluster().result(timeout=TIMEOUT_S)
    assert result.cluster_id == broker_thread.broker.cluster_id
    assert result.controller.id == 1
    assert [(n.id, n.port) for n in result.nodes] == [(1, int(broker_thread.bootstrap.rsplit(":", 1)[1]))]


def test_delete_topics(admin, broker_thread):
    name = fresh()
    wait(admin.create_topics([NewTopic(name, 2, 1)]))
    wait(admin.delete_topics([name]))
    assert broker_thread.call(broker_thread.broker.topics.get, name) is None
    code, _ = kafka_code(lambda: wait(admin.delete_topics([name])))
    assert code == "UNKNOWN_TOPIC_OR_PART"


def test_kafka_python_admin(broker_thread):
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, KafkaAdminClient
    from kafka.admin import NewTopic as KNewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = KafkaAdminClient(bootstrap_servers=broker_thread.bootstrap, request_timeout_ms=10000)
    try:
        name = fresh("kp")
        client.create_topics([KNewTopic(name, 2, 1, topic_configs={"retention.bytes": "1048576"})])
        with pytest.raises(TopicAlreadyExistsError):
            client.create_topics([KNewTopic(name, 2, 1)])
        described = client.describe_configs([KConfigResource(ConfigResourceType.TOPIC, name)])
        assert "retention.bytes" in repr(described) and "1048576" in repr(described)
        client.delete_topics([name])
        assert broker_thread.call(broker_thread.broker.topics.get, name) is None
    finally:
        client.close()
