"""The ``_schemas`` topic: the registry's write-ahead log, kept in Kafka as Confluent keeps it.

Every change the registry makes (a schema registered under a subject, a
compatibility level set, a subject deleted) is one record of a compacted,
single-partition topic (``kafkastore.topic``, default ``_schemas``). The
record's key says *what* changed (``{"keytype": "SCHEMA", "subject": "s",
"version": 1, "magic": 1}``), its value the new state (null: a tombstone).
The registry's state is nothing but these records applied in order, so any
instance that reads the topic from the beginning rebuilds the same subjects,
versions and ids.

``KafkaSchemaLog`` owns three things:

- the topic: created if missing with one partition (one total order),
  ``cleanup.policy=compact`` (only the latest value of each key matters),
  replication factor ``min(3, brokers)`` and ``min.insync.replicas``
  ``min(2, replication factor)``;
- a producer with ``acks=all`` and idempotence: a record is acknowledged
  only once every in-sync replica has it, and a retried send is never
  written twice;
- a reader task that fetches the partition from offset 0 (no group,
  ``read_uncommitted``) and applies every record to the store, on leader
  and followers alike.

Invariants:

- the store changes only in the reader task, in offset order: the leader
  applies its own writes exactly as a follower does (recovery and normal
  operation run the same code);
- ``append()`` returns once its record is *applied*, so the answer the
  service gives afterwards reads its own write;
- ``start()`` returns only once the reader has reached the log-end offset
  that ListOffsets gave when it started: a registry never serves an
  older state than the topic holds (Confluent's
  ``waitUntilKafkaReaderReachesLastOffset``). A newly elected leader calls
  ``wait_until_caught_up()`` before its first write, so the ids it hands out
  continue from the newest record.

A record whose key or value is not JSON, or that the store refuses, is
logged and skipped, as Confluent's reader does: one bad record must not stop
the registry.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.registry import errors
from minikafka_clients import Consumer, KafkaConnectionError, NewTopic, Producer, open_cluster
from minikafka_clients import admin as kafka_admin
from minikafka_clients import groups as kafka_groups

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "_schemas"
DEFAULT_TIMEOUT_MS = 10_000  # Confluent's kafkastore.timeout.ms is 500: too short on a busy laptop
DEFAULT_INIT_TIMEOUT_MS = 60_000  # kafkastore.init.timeout.ms
READ_POLL_S = 0.2
READ_RETRY_BACKOFF_S = 0.5


class KafkaStoreError(Exception):
    """The ``_schemas`` topic cannot be reached or created: the registry cannot start."""


class KafkaSchemaLog:
    """The registry's ``SchemaLog`` on a Kafka topic. Owned by one Trio run; task-safe in it.

    Build it with ``open_kafka_schema_log()``, which starts the reader and
    waits for it to catch up.

    Args:
        apply: ``apply(key: dict, value: dict | None)``, the store's replay
            function; called by the reader task only.
        producer: an idempotent ``acks=all`` producer.
        consumer: a consumer assigned to the topic's only partition.
        topic: ``kafkastore.topic``.
        timeout_ms: ``kafkastore.timeout.ms``: how long an append may take.
    """

    def __init__(self, apply: Callable[[dict, dict | None], None], producer: Producer,
                 consumer: Consumer, topic: str = DEFAULT_TOPIC, *,
                 timeout_ms: float = DEFAULT_TIMEOUT_MS):
        self.apply = apply
        self.producer = producer
        self.consumer = consumer
        self.topic = topic
        self.timeout_ms = timeout_ms
        self.applied_offset = 0  # the offset of the next record to apply
        self._progress = trio.Event()

    # -- writing --------------------------------------------------------------------

    async def append(self, key: bytes, value: bytes | None) -> None:
        """Write one record and wait until the reader has applied it.

        Raises:
            RegistryError: 50001 the write failed, 50002 it took longer than
                ``timeout_ms`` (Confluent's store error and operation timeout).
        """
        with trio.move_on_after(self.timeout_ms / 1000) as scope:
            try:
                delivery = await self.producer.send(self.topic, value, key, partition=0)
                metadata = await delivery
            except KafkaError as exc:
                raise errors.store_error(f"Error while writing to the Kafka store "
                                         f"({self.topic}): {exc}") from exc
            await self.wait_for_offset(metadata.offset + 1)
        if scope.cancelled_caught:
            raise errors.operation_timeout(f"Write to the Kafka store ({self.topic}) timed out "
                                           f"after {self.timeout_ms:.0f} ms")

    # -- reading ----------------------------------------------------------------------

    async def wait_for_offset(self, offset: int) -> None:
        """Return once every record before ``offset`` has been applied."""
        while self.applied_offset < offset:
            await self._progress.wait()

    async def wait_until_caught_up(self) -> None:
        """Wait until the reader has applied everything the topic held when called."""
        tp = (self.topic, 0)
        ends = await kafka_groups.log_end_offsets(self.consumer.cluster, [tp])
        await self.wait_for_offset(ends[tp])

    async def run_reader(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Apply every record of the topic, from offset 0, until cancelled."""
        self.consumer.assign([(self.topic, 0)])
        self.consumer.seek((self.topic, 0), 0)
        task_status.started()
        while True:
            try:
                await self._read_once()
            except (KafkaError, KafkaConnectionError) as exc:  # a broker restarting, a leader moving
                log.warning("reading the %s topic: %s; retrying", self.topic, exc)
                await trio.sleep(READ_RETRY_BACKOFF_S)

    async def _read_once(self) -> None:
        records = await self.consumer.poll(READ_POLL_S)
        for record in records:
            self._apply(record.key, record.value, record.offset)
            self.applied_offset = record.offset + 1
        if not records:  # the position may have moved past control batches
            self.applied_offset = max(self.applied_offset,
                                      await self.consumer.position((self.topic, 0)))
        self._progress.set()
        self._progress = trio.Event()

    def _apply(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        try:
            key_json = json.loads(key) if key else None
            value_json = json.loads(value) if value is not None else None
        except ValueError as exc:
            log.warning("%s offset %d: not JSON, skipped (%s)", self.topic, offset, exc)
            return
        if not isinstance(key_json, dict):
            log.warning("%s offset %d: the key is no JSON object, skipped", self.topic, offset)
            return
        try:
            self.apply(key_json, value_json)
        except Exception:  # one bad record must not stop the registry
            log.exception("%s offset %d: the store refused the record, skipped", self.topic, offset)


# -- the topic ---------------------------------------------------------------------------

async def ensure_topic(cluster, topic: str) -> None:
    """Create ``topic`` as Confluent does if it is missing; check it if it exists.

    Raises:
        KafkaStoreError: the topic exists with more than one partition (the
            order of the registry's writes would be lost).
    """
    try:
        metadata = await cluster.topic(topic, refresh=True)
    except KafkaError as exc:
        if exc.code != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
            raise
        await _create_topic(cluster, topic)
        return
    if len(metadata.partitions) != 1:
        raise KafkaStoreError(f"the {topic} topic has {len(metadata.partitions)} partitions; "
                              "the schema registry needs exactly 1")


async def _create_topic(cluster, topic: str) -> None:
    replication_factor = min(3, len(cluster.brokers))
    configs = {"cleanup.policy": "compact",
               "min.insync.replicas": str(min(2, replication_factor))}
    try:
        await kafka_admin.create_topics(cluster, [NewTopic(topic, 1, replication_factor, configs)])
        log.info("created the %s topic (replication factor %d)", topic, replication_factor)
    except KafkaError as exc:
        if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:  # another instance was quicker
            raise
    # The leader of the new partition is elected asynchronously.
    await cluster.retry(lambda: cluster.leader_for(topic, 0, refresh=True), timeout_ms=30_000)


# -- opening ---------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def open_kafka_schema_log(apply: Callable[[dict, dict | None], None], bootstrap: str, *,
                                topic: str = DEFAULT_TOPIC, timeout_ms: float = DEFAULT_TIMEOUT_MS,
                                init_timeout_ms: float = DEFAULT_INIT_TIMEOUT_MS,
                                client_config: dict | None = None):
    """Ensure the topic, start the reader, read to the end; yield the ``KafkaSchemaLog``.

    Args:
        apply: the store's ``apply(key, value)``.
        bootstrap: ``kafkastore.bootstrap.servers``.
        init_timeout_ms: ``kafkastore.init.timeout.ms``: how long creating
            the topic and reading it to the end may take.
        client_config: extra Kafka client keys for the producer and consumer.

    Raises:
        KafkaStoreError: Kafka cannot be reached, or the topic is unusable.
    """
    async with contextlib.AsyncExitStack() as stack:
        try:
            schema_log = await _start(stack, apply, bootstrap, topic, timeout_ms, init_timeout_ms,
                                      client_config or {})
        except KafkaConnectionError as exc:
            raise KafkaStoreError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
        except trio.TooSlowError as exc:
            raise KafkaStoreError(f"the {topic} topic at {bootstrap} was not ready within "
                                  f"{init_timeout_ms:.0f} ms (kafkastore.init.timeout.ms)") from exc
        except KafkaError as exc:
            raise KafkaStoreError(f"Kafka at {bootstrap} refused the {topic} topic: {exc}") from exc
        yield schema_log


async def _start(stack: contextlib.AsyncExitStack, apply, bootstrap: str, topic: str,
                 timeout_ms: float, init_timeout_ms: float, client_config: dict) -> KafkaSchemaLog:
    common = {"bootstrap.servers": bootstrap, **client_config}
    # The deadline covers the waits only: a Trio cancel scope may not hold the
    # nurseries the clients open, which outlive this function.
    deadline = trio.current_time() + init_timeout_ms / 1000
    async with open_cluster(config=common) as cluster:
        with trio.fail_at(deadline):
            await ensure_topic(cluster, topic)
    producer = await stack.enter_async_context(Producer({
        **common, "client.id": "schema-registry-producer", "acks": "all",
        "enable.idempotence": True, "linger.ms": 0}))
    consumer = await stack.enter_async_context(Consumer({
        **common, "client.id": "schema-registry-reader",
        "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    schema_log = KafkaSchemaLog(apply, producer, consumer, topic, timeout_ms=timeout_ms)
    nursery = await stack.enter_async_context(trio.open_nursery())
    stack.callback(nursery.cancel_scope.cancel)  # runs before the nursery waits for the reader
    await nursery.start(schema_log.run_reader)
    with trio.fail_at(deadline):
        await schema_log.wait_until_caught_up()
    return schema_log
