"""Helpers for the replication runtime tests: raw Produce/Fetch over real sockets, replica lookups.

Every broker of an ``InProcessCluster`` listens on its own loopback port; these
helpers send one request to one broker (no client-side retries or metadata),
so a test sees exactly the error code the broker answers.
"""

from __future__ import annotations

import itertools

import trio

from minikafka.errors import ErrorCode
from minikafka_core.records import Record, build_batch, read_batches
from minikafka.rpc.client import exchange

PRODUCE, FETCH = 0, 1
PRODUCE_VERSION, FETCH_VERSION = 9, 12
ACKS_ALL = -1
_correlation_ids = itertools.count(1)


async def call(broker, api_key: int, version: int, body: dict):
    """Send one request to ``broker``'s first listener; its decoded response."""
    stream = await trio.open_tcp_stream("127.0.0.1", broker.bound_ports[0])
    async with stream:
        return await exchange(stream, api_key, version, next(_correlation_ids), "replication-runtime-test", body)


async def produce(broker, topic: str, values: list[bytes], *, acks: int = ACKS_ALL,
                  timeout_ms: int = 10_000, producer=None) -> tuple[int, int]:
    """Produce ``values`` as one batch to partition 0; ``(error_code, base_offset)``.

    ``producer``: ``(producer_id, producer_epoch, base_sequence)`` for an
    idempotent batch.
    """
    idempotence = {}
    if producer is not None:
        idempotence = dict(zip(("producer_id", "producer_epoch", "base_sequence"), producer))
    records = build_batch([Record(i, 0, None, value) for i, value in enumerate(values)], **idempotence)
    body = {"transactional_id": None, "acks": acks, "timeout_ms": timeout_ms, "topic_data": [
        {"name": topic, "partition_data": [{"index": 0, "records": records}]}]}
    response = await call(broker, PRODUCE, PRODUCE_VERSION, body)
    answer = response.responses[0].partition_responses[0]
    return answer.error_code, answer.base_offset


async def fetch(broker, topic: str, fetch_offset: int = 0, *, current_leader_epoch: int = -1,
                max_wait_ms: int = 0, replica_id: int = -1):
    """A consumer's (or, with ``replica_id``, a follower's) Fetch v12 of partition 0: its ``PartitionData``."""
    body = {"replica_id": replica_id, "max_wait_ms": max_wait_ms, "min_bytes": 1, "max_bytes": 1 << 20,
            "isolation_level": 0, "session_id": 0, "session_epoch": -1, "topics": [{
                "topic": topic, "partitions": [{
                    "partition": 0, "current_leader_epoch": current_leader_epoch,
                    "fetch_offset": fetch_offset, "last_fetched_epoch": -1, "log_start_offset": -1,
                    "partition_max_bytes": 1 << 20}]}],
            "forgotten_topics_data": [], "rack_id": ""}
    response = await call(broker, FETCH, FETCH_VERSION, body)
    return response.responses[0].partitions[0]


def values_in(records) -> list[bytes]:
    """The record values in a Fetch answer's (or a log read's) batches."""
    return [record.value for batch in read_batches(bytes(records or b"")) for record in batch.records]


def registration(broker, topic: str):
    """Partition 0's registration in ``broker``'s committed metadata image."""
    return broker.metadata.image.topic(topic).partitions[0]


def leader_of(cluster, topic: str):
    """The running broker that leads partition 0 (as its own partition says), or None.

    While leadership moves, the old leader may not have heard yet: the newest epoch wins.
    """
    leaders = [b for b in cluster.brokers.values() if b.partition(topic, 0).is_leader]
    return max(leaders, key=lambda b: b.partition(topic, 0).leader_epoch, default=None)


def log_contents(broker, topic: str) -> bytes:
    """Partition 0's whole log on ``broker``, as stored (batches byte for byte)."""
    log = broker.partition(topic, 0).log.local_log
    if log.log_end_offset == log.log_start_offset:
        return b""
    return bytes(log.read(log.log_start_offset, 1 << 30, log.log_end_offset))


def epoch_entries(broker, topic: str) -> list[tuple[int, int]]:
    """Partition 0's leader-epoch cache on ``broker``: ``[(epoch, start_offset)]``."""
    return [(e.epoch, e.start_offset) for e in broker.partition(topic, 0).epoch_cache.entries]


async def create_topic(cluster, name: str, *, replication_factor: int = 3, configs: dict | None = None):
    """Create a one-partition topic; return once every replica has its role and the ISR is full.

    Waits first until every broker sees every other one unfenced (a loaded machine may
    miss a heartbeat deadline of the lab timeouts, and placement needs unfenced brokers).
    """
    brokers = list(cluster.brokers.values())
    await cluster.wait_for(lambda: all(len(b.metadata.image.active_broker_ids()) == len(brokers)
                                       for b in brokers))
    await brokers[0].create_topic(name, 1, configs or {}, replication_factor)
    await cluster.wait_for(lambda: _settled(cluster, name, replication_factor))
    return leader_of(cluster, name)


def _settled(cluster, name: str, replication_factor: int) -> bool:
    replicas = [b for b in cluster.brokers.values() if (name, 0) in b.partitions]
    if len(replicas) != replication_factor or leader_of(cluster, name) is None:
        return False
    return all(len(registration(b, name).isr) == replication_factor for b in replicas)


async def wait_for_isr(cluster, topic: str, isr: set[int], timeout_s: float = 15.0) -> None:
    """Wait until every running broker's image (and the leader's state) has this ISR."""
    def reached() -> bool:
        leader = leader_of(cluster, topic)
        return (leader is not None and set(leader.partition(topic, 0).leader_state.isr) == isr
                and all(set(registration(b, topic).isr) == isr for b in cluster.brokers.values()))
    await cluster.wait_for(reached, timeout_s)


async def wait_until_replicated(cluster, topic: str, timeout_s: float = 15.0) -> None:
    """Wait until every running replica has the leader's log end and high watermark."""
    def caught_up() -> bool:
        leader = leader_of(cluster, topic)
        if leader is None:
            return False
        end, hw = leader.partition(topic, 0).log_end_offset, leader.partition(topic, 0).high_watermark
        return all(b.partition(topic, 0).log_end_offset == end and b.partition(topic, 0).high_watermark == hw
                   for b in cluster.brokers.values())
    await cluster.wait_for(caught_up, timeout_s)


def assert_ok(answer: tuple[int, int]) -> int:
    """The base offset of a successful produce (fails the test with the error's name otherwise)."""
    code, base_offset = answer
    assert code == ErrorCode.NONE, ErrorCode(code).name
    return base_offset


def pause_fetching(broker) -> None:
    """Stop ``broker``'s replica fetchers (it stays up and registered, its replicas fall behind).

    The cancelled fetchers stay in the ``ReplicaManager``'s table, so it does
    not start new ones until the leader changes or ``resume_fetching``.
    """
    for fetcher in broker.replicas.fetchers.values():
        fetcher.cancel_scope.cancel()


def resume_fetching(broker) -> None:
    """Start ``broker``'s fetchers again, as the replica manager does for new metadata."""
    broker.replicas.fetchers.clear()
    broker.replicas.apply(broker.metadata.image)
