"""A tiny driver for QuorumController scenarios: every record is kept, so a
test can check that replaying the log rebuilds the controller's image."""

from __future__ import annotations

import random

from minikafka.errors import ErrorCode
from minikafka.metadata import ControllerConfig, MetadataImage, QuorumController, decode_record, encode_record


class Harness:
    """One controller, a mock clock in ms, and the metadata log it wrote."""

    def __init__(self, brokers=3, **config):
        self.now_ms = 0
        self.log = []
        self.epochs = {}
        self.controller = QuorumController(ControllerConfig(**config), now_ms=0, rng=random.Random(7))
        self.controller.placer._next_start = 0  # deterministic placement for the scenarios
        self.run(self.controller.bootstrap(0))
        for broker_id in range(brokers):
            self.register(broker_id)
            self.heartbeat(broker_id)

    def run(self, result):
        # Every record goes through the real encoding, as it would through Raft.
        self.log += [decode_record(encode_record(rec)) for rec in result.records]
        return result.response

    @property
    def image(self) -> MetadataImage:
        return self.controller.image

    def register(self, broker_id, incarnation=None, **fields):
        request = {"broker_id": broker_id, "incarnation_id": bytes([incarnation or broker_id + 1]) * 16,
                   "listeners": [{"name": "PLAINTEXT", "host": "127.0.0.1", "port": 9092 + broker_id}], **fields}
        response = self.run(self.controller.register_broker(request, self.now_ms, metadata_offset=len(self.log)))
        if response["error_code"] == ErrorCode.NONE:
            self.epochs[broker_id] = response["broker_epoch"]
        return response

    def heartbeat(self, broker_id, **fields):
        request = {"broker_id": broker_id, "broker_epoch": self.epochs[broker_id],
                   "current_metadata_offset": len(self.log), **fields}
        return self.run(self.controller.broker_heartbeat(request, self.now_ms))

    def advance(self, ms, heartbeating=()):
        """Let ``ms`` pass in steps of 1 s; the listed brokers heartbeat each step."""
        for _ in range(ms // 1000):
            self.now_ms += 1000
            for broker_id in heartbeating:
                self.heartbeat(broker_id)
            self.run(self.controller.tick(self.now_ms))

    def create_topic(self, name, partitions, rf, **fields):
        request = {"topics": [{"name": name, "num_partitions": partitions, "replication_factor": rf, **fields}]}
        return self.run(self.controller.create_topics(request, self.now_ms))["topics"][0]

    def partition(self, name, index):
        return self.image.topic(name).partitions[index]

    def alter_isr(self, name, index, new_isr, leader_epoch=None, partition_epoch=None, broker_id=None):
        p = self.partition(name, index)
        topic = self.image.topic(name)
        broker_id = p.leader if broker_id is None else broker_id
        request = {"broker_id": broker_id, "broker_epoch": self.epochs[broker_id], "topics": [{
            "topic_id": topic.topic_id, "partitions": [{
                "partition_index": index, "new_isr": list(new_isr),
                "leader_epoch": p.leader_epoch if leader_epoch is None else leader_epoch,
                "partition_epoch": p.partition_epoch if partition_epoch is None else partition_epoch}]}]}
        return self.run(self.controller.alter_partition(request, self.now_ms))["topics"][0]["partitions"][0]

    def replayed(self) -> MetadataImage:
        return MetadataImage.from_records(self.log)


def check_invariants(image: MetadataImage) -> None:
    """What every operation must preserve (see controller.py's docstring)."""
    for topic, index, p in image.all_partitions():
        where = f"{topic.name}-{index} {p}"
        assert set(p.isr) <= set(p.replicas), where
        assert p.isr, where
        assert set(p.adding_replicas) <= set(p.replicas) and set(p.removing_replicas) <= set(p.replicas), where
        if p.leader != -1:
            assert p.leader in p.isr and image.is_active(p.leader), where
            assert all(not image.brokers[b].fenced for b in p.isr), where
        else:
            assert not any(image.is_active(b) for b in p.isr), where
