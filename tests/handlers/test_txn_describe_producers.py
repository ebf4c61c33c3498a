"""DescribeProducers called directly: which replica answers, and the entries it gives."""

from __future__ import annotations

import dataclasses
import types

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, describe_producers
from minikafka.metadata.topics import TopicInfo
from minikafka.protocol.messages import REQUESTS, RESPONSES


class FakeMetadata:
    node_id = 1

    def __init__(self, topics):
        self.topics = topics

    def get(self, name):
        return self.topics.get(name)


class FakePartitions:
    def __init__(self, partitions):
        self.partitions = partitions

    def partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None


class FakePartition:
    def __init__(self, producers):
        self.producers = producers

    def active_producers(self):
        return self.producers


@dataclasses.dataclass
class Services:
    metadata: FakeMetadata
    partitions: FakePartitions


def producer(producer_id, epoch, last_sequence, txn_start=-1):
    return types.SimpleNamespace(producer_id=producer_id, producer_epoch=epoch, last_sequence=last_sequence,
                                 last_timestamp=1_700_000_000_000, coordinator_epoch=3,
                                 current_txn_start_offset=txn_start)


def call(services, topics: dict) -> dict:
    request = {"topics": [{"name": name, "partition_indexes": indexes} for name, indexes in topics.items()]}
    decoded = REQUESTS[61].decode(REQUESTS[61].encode(request, 0), 0)
    ctx = RequestContext(61, 0, 1, "admin", "127.0.0.1:1", None)
    response = trio.run(describe_producers.handle, services, decoded, ctx)
    response = RESPONSES[61].decode(RESPONSES[61].encode(response, 0), 0)
    return {(t.name, p.partition_index): p for t in response.topics for p in t.partitions}


def test_active_producers_of_hosted_replicas_and_errors_elsewhere():
    metadata = FakeMetadata({"orders": TopicInfo("orders", b"\x01" * 16, 3)})
    hosted = FakePartition([producer(4000, 2, 9, txn_start=120), producer(4001, 0, 4)])
    services = Services(metadata, FakePartitions({("orders", 0): hosted,
                                                  ("orders", 1): FakePartition([])}))
    answers = call(services, {"orders": [0, 1, 2, 3], "missing": [0]})
    assert answers[("orders", 0)].error_code == ErrorCode.NONE
    entries = [(p.producer_id, p.producer_epoch, p.last_sequence, p.coordinator_epoch,
                p.current_txn_start_offset, p.last_timestamp) for p in answers[("orders", 0)].active_producers]
    assert entries == [(4000, 2, 9, 3, 120, 1_700_000_000_000), (4001, 0, 4, 3, -1, 1_700_000_000_000)]
    assert answers[("orders", 1)].error_code == ErrorCode.NONE
    assert answers[("orders", 1)].active_producers == []
    # Partition 2 exists but has no replica here; partition 3 and "missing" do not exist.
    assert answers[("orders", 2)].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert answers[("orders", 2)].error_message
    assert answers[("orders", 3)].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert answers[("missing", 0)].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
