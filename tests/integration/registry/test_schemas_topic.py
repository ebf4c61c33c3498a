"""The ``_schemas`` topic is Kafka data like any other: kafka-python reads it, Confluent's JSON inside."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from minikafka_clients import SyncAdmin

from ..harness import free_port
from .test_registry_storage import avro_record


def read_all(bootstrap: str, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    try:
        assert consumer.partitions_for_topic(topic) == {0}
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        records = []
        deadline = time.monotonic() + 10
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def test_kafka_python_reads_confluent_json_records(broker, registries):
    with registries() as registry:
        first = registry.register("orders-value", avro_record("Order", "id"))
        second = registry.register("orders-value", avro_record("Order", "id", "note"))
        response = registry.client.put("/config/orders-value", json={"compatibility": "FULL"})
        assert response.status_code == 200, response.text

    records = read_all(broker.bootstrap, registries.topic, expected=3)
    decoded = [(json.loads(r.key), json.loads(r.value) if r.value is not None else None)
               for r in records]
    schemas = [(k, v) for k, v in decoded if k.get("keytype") == "SCHEMA"]
    assert [k for k, _ in schemas] == [
        {"keytype": "SCHEMA", "subject": "orders-value", "version": 1, "magic": 1},
        {"keytype": "SCHEMA", "subject": "orders-value", "version": 2, "magic": 1}]
    for (_, value), version, schema_id in zip(schemas, (1, 2), (first, second)):
        assert value["subject"] == "orders-value"
        assert value["version"] == version and value["id"] == schema_id
        assert value["deleted"] is False
        assert json.loads(value["schema"])["name"] == "Order"
    configs = [(k, v) for k, v in decoded if k.get("keytype") == "CONFIG"]
    assert configs and configs[-1][0]["subject"] == "orders-value"
    assert configs[-1][1]["compatibilityLevel"] == "FULL"


def test_the_topic_is_created_compacted_with_one_partition(broker, registries):
    with registries() as registry:
        registry.register("t-value", avro_record("T", "x"))
    with SyncAdmin({"bootstrap.servers": broker.bootstrap}) as admin:
        [topic] = admin.describe_topics([registries.topic]).values()
        entries = admin.describe_configs(registries.topic, ["cleanup.policy", "min.insync.replicas"])
    assert list(topic.partitions) == [0]
    assert entries["cleanup.policy"].value == "compact"
    assert entries["min.insync.replicas"].value == "1"  # min(2, replication factor 1)


def test_a_registry_that_cannot_reach_kafka_says_so():
    nobody = f"127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "minikafka", "schema-registry",
                             "--bootstrap-server", nobody, "--listen", f"127.0.0.1:{free_port()}"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"schema registry: cannot start: cannot reach Kafka at {nobody}" in result.stderr
