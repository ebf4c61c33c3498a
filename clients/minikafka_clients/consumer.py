"""The Consumer: assign or subscribe, poll records, track positions, commit offsets.

A consumer owns a set of partitions (its *assignment*) and, per partition, a
*position*: the offset of the next record ``poll()`` will return. It gets the
assignment in one of two ways:

- ``assign([(topic, partition), ...])``: chosen by the application;
- ``subscribe(topics or regex)``: chosen by the consumer group ``group.id``.
  With ``group.protocol=classic`` (the default) the members run JoinGroup /
  SyncGroup and the leader's assignor (``partition.assignment.strategy``)
  decides (``classic_membership.py``); with ``group.protocol=consumer``
  (KIP-848) the broker does (``consumer_protocol.py``).

A new partition's first position is the group's *committed offset*
(OffsetFetch), else ``auto.offset.reset`` (``earliest`` / ``latest`` via
ListOffsets, ``none``: raise). ``poll()`` sends one Fetch per leader for every
assigned, unpaused partition and returns the records; the position moves as
records are *returned*, not fetched, so a commit never covers a record the
application has not seen. Each Fetch response also gives the partition's high
watermark (and last stable offset): ``lag()`` is the distance to it.

``enable.auto.commit`` commits the positions every ``auto.commit.interval.ms``,
before partitions are revoked, and on ``close()``. The rebalance callbacks
``on_assign`` / ``on_revoke`` / ``on_lost`` receive ``(consumer, partitions)``
and may be plain functions or coroutines.

Config keys and defaults are Kafka's Java consumer's (``DEFAULTS``, plus the
connection keys of ``cluster.CONNECTION_CONFIG``; ``client_config`` lists the
keys accepted and ignored); ``poll(timeout)`` takes seconds, like
confluent-kafka's.

Quotas: a broker that throttles the consumer (``consumer_byte_rate``) says
so in ``throttle_time_ms``; no Fetch goes to it until that time has passed
(``consumer_fetcher.py``, KIP-219), and ``metrics()`` shows
``fetch-throttle-time-avg`` / ``-max``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import admin, assignors, groups
from .classic_membership import ClassicMembership
from .client_config import CONNECTION_KEYS, IGNORED_CONSUMER, check_keys
from .cluster import open_cluster
from .connection import KafkaConnectionError
from .consumer_fetcher import ConsumerRecord, FetchResult, fetch_from_leaders
from .consumer_protocol import ConsumerGroupMember, ConsumerProtocolMembership
from .group_member import ClassicMember

TopicPartition = tuple[str, int]

DEFAULTS = {
    "client.id": "minikafka-consumer",
    "group.id": None,
    "group.instance.id": None,
    "group.protocol": "classic",
    "group.remote.assignor": None,
    "partition.assignment.strategy": "range,cooperative-sticky",
    "session.timeout.ms": 45_000,
    "heartbeat.interval.ms": 3_000,
    "max.poll.interval.ms": 300_000,
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 5_000,
    "auto.offset.reset": "latest",
    "isolation.level": "read_uncommitted",
    "fetch.max.wait.ms": 500,
    "fetch.min.bytes": 1,
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 1_048_576,
    "max.poll.records": 500,
    "request.timeout.ms": 30_000,
    "metadata.max.age.ms": 300_000,
}


def _parse_bool(value) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


class Consumer:
    """A Kafka consumer (Trio-native). Use as ``async with Consumer(config) as c``.

    Owned by one Trio run; methods may be called from several tasks of it,
    but ``poll()`` from one at a time.

    Args:
        config: Kafka config keys (``bootstrap.servers`` required).
        on_assign, on_revoke, on_lost: rebalance callbacks (also settable in
            ``subscribe``).
    """

    def __init__(self, config: dict, *, on_assign=None, on_revoke=None, on_lost=None):
        check_keys(config, client="consumer", used=CONNECTION_KEYS | set(DEFAULTS),
                   ignored=IGNORED_CONSUMER)
        self.config = {**DEFAULTS, **config}
        self.group_id = self.config["group.id"]
        self.read_committed = self.config["isolation.level"] == "read_committed"
        self.auto_commit = _parse_bool(self.config["enable.auto.commit"]) and self.group_id is not None
        self._callbacks = {"assign": on_assign, "revoke": on_revoke, "lost": on_lost}
        self.callback_runner = None  # the sync face routes callbacks to the user's thread
        self.cluster = None
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}  # next record poll() returns
        self._fetch_positions: dict[TopicPartition, int] = {}  # next offset to fetch
        self._buffered: dict[TopicPartition, list[ConsumerRecord]] = {}
        self._paused: set[TopicPartition] = set()
        self._reset_pending: set[TopicPartition] = set()  # out of range: skip the committed offset
        self._auto_commit_started = False
        self._watermarks: dict[TopicPartition, tuple[int, int]] = {}  # (high watermark, LSO)
        self._topics: set[str] = set()
        self._pattern: re.Pattern | None = None
        self._membership = None
        self._assignment_changed = trio.Event()
        self._fatal: BaseException | None = None
        self._exit_stack = contextlib.AsyncExitStack()
        self._nursery: trio.Nursery | None = None
        self._closed = False

    # -- lifetime ---------------------------------------------------------------------

    async def __aenter__(self) -> "Consumer":
        self.cluster = await self._exit_stack.enter_async_context(open_cluster(config=self.config))
        self._nursery = await self._exit_stack.enter_async_context(trio.open_nursery())
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        """Commit (if auto-commit), leave the group, close the connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            with trio.CancelScope(shield=True):
                await self._leave()
        finally:
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
            await self._exit_stack.aclose()

    async def _leave(self) -> None:
        if self._membership is not None:
            await self._membership.leave()  # revokes (so commits) first
        elif self.auto_commit and self._assignment:
            await self._commit_quietly()

    # -- assignment ---------------------------------------------------------------------

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read exactly these partitions (no group membership)."""
        if self._membership is not None:
            raise RuntimeError("assign() after subscribe(): call unsubscribe() first")
        self._set_assignment(set(partitions))
        self._start_auto_commit()

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partition numbers, from fresh metadata; empty if there is
        no such topic (Java's ``partitionsFor``)."""
        found = await self.cluster.refresh_metadata([topic])
        return sorted(found[topic].partitions) if topic in found else []

    async def subscribe(self, topics: list[str] | str | re.Pattern, *, on_assign=None,
                        on_revoke=None, on_lost=None) -> None:
        """Join ``group.id`` for ``topics`` (names, or a regex: a ``re.Pattern`` or a
        string starting with ``^``, re-evaluated on every metadata refresh)."""
        if self.group_id is None:
            raise ValueError("subscribe() needs group.id")
        if self._assignment and self._membership is None:
            raise RuntimeError("subscribe() after assign(): call unsubscribe() first")
        for name, callback in (("assign", on_assign), ("revoke", on_revoke), ("lost", on_lost)):
            self._callbacks[name] = callback or self._callbacks[name]
        if isinstance(topics, re.Pattern) or (isinstance(topics, str) and topics.startswith("^")):
            self._pattern, self._topics = re.compile(topics), set()
            await self._match_pattern()
        else:
            self._pattern, self._topics = None, {topics} if isinstance(topics, str) else set(topics)
        if self._membership is None:
            self._membership = self._new_membership()
            self._nursery.start_soon(self._guard, self._membership.run)
            self._nursery.start_soon(self._guard, self._refresh_metadata_forever)
            self._start_auto_commit()
        else:
            self._membership.request_rejoin()

    def subscription(self) -> set[str]:
        return set(self._topics)

    async def unsubscribe(self) -> None:
        """Leave the group (revoking everything) or drop the manual assignment."""
        if self._membership is not None:
            await self._membership.leave()
            self._membership = None
        self._set_assignment(set())
        self._topics, self._pattern = set(), None

    def _new_membership(self):
        c = self.config
        if c["group.protocol"] == "consumer":
            member = ConsumerGroupMember(self.group_id, group_instance_id=c["group.instance.id"],
                                         rebalance_timeout_ms=int(c["max.poll.interval.ms"]),
                                         server_assignor=c["group.remote.assignor"])
            return ConsumerProtocolMembership(self.cluster, member, self)
        member = ClassicMember(self.group_id, assignors.parse_strategy(c["partition.assignment.strategy"]),
                               group_instance_id=c["group.instance.id"],
                               session_timeout_ms=int(c["session.timeout.ms"]),
                               rebalance_timeout_ms=int(c["max.poll.interval.ms"]))
        return ClassicMembership(self.cluster, member, self,
                                 heartbeat_interval_ms=int(c["heartbeat.interval.ms"]))

    async def wait_for_assignment(self) -> None:
        """Wait until the group has completed a rebalance for this member (for tests, scripts)."""
        if self._membership is not None:
            await self._membership.stable.wait()

    # -- the membership's listener -------------------------------------------------------

    def subscribed_topics(self) -> set[str]:
        return set(self._topics)

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        if self.auto_commit:
            await self._commit_quietly({tp: self._positions[tp] for tp in partitions
                                        if tp in self._positions})
        await self._callback("revoke", partitions)
        self._set_assignment(self._assignment - partitions)

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        self._set_assignment(self._assignment | partitions)
        await self._callback("assign", partitions)

    async def lost(self, partitions: set[TopicPartition]) -> None:
        # Someone else may own them already: no commit (Java's onPartitionsLost).
        self._set_assignment(self._assignment - partitions)
        await self._callback("lost" if self._callbacks["lost"] else "revoke", partitions)

    async def _callback(self, name: str, partitions: set[TopicPartition]) -> None:
        callback = self._callbacks[name]
        if callback is None:
            return
        if self.callback_runner is not None:
            await self.callback_runner(callback, sorted(partitions))
            return
        result = callback(self, sorted(partitions))
        if inspect.isawaitable(result):
            await result

    def _set_assignment(self, partitions: set[TopicPartition]) -> None:
        for tp in self._assignment - partitions:
            for state in (self._positions, self._fetch_positions, self._buffered, self._watermarks):
                state.pop(tp, None)
            self._paused.discard(tp)
        self._assignment = set(partitions)
        self._assignment_changed.set()
        self._assignment_changed = trio.Event()

    # -- background tasks --------------------------------------------------------------

    async def _guard(self, task) -> None:
        """Run a background task; keep its fatal error for the next ``poll()``."""
        try:
            await task()
        except (KafkaError, KafkaConnectionError, OSError) as exc:
            self._fatal = exc
            self._assignment_changed.set()

    def _start_auto_commit(self) -> None:
        if self.auto_commit and not self._auto_commit_started:
            self._auto_commit_started = True
            self._nursery.start_soon(self._auto_commit_forever)

    async def _auto_commit_forever(self) -> None:
        while True:
            await trio.sleep(int(self.config["auto.commit.interval.ms"]) / 1000)
            await self._commit_quietly()

    async def _refresh_metadata_forever(self) -> None:
        """Re-evaluate a regex subscription every ``metadata.max.age.ms``."""
        while True:
            await trio.sleep(int(self.config["metadata.max.age.ms"]) / 1000)
            if self._pattern is not None and await self._match_pattern():
                self._membership.request_rejoin()

    async def _match_pattern(self) -> bool:
        """Set the topics to those matching the pattern; True if they changed."""
        found = await self.cluster.refresh_metadata(None)
        topics = {t for t, m in found.items() if not m.is_internal and self._pattern.fullmatch(t)}
        changed, self._topics = topics != self._topics, topics
        return changed

    # -- polling -------------------------------------------------------------------------

    async def poll(self, timeout: float = math.inf) -> list[ConsumerRecord]:
        """Return up to ``max.poll.records`` records, waiting at most ``timeout`` seconds.

        Raises:
            KafkaError: a fatal group error (e.g. FENCED_INSTANCE_ID), or
                OFFSET_OUT_OF_RANGE with ``auto.offset.reset=none``.
        """
        deadline = trio.current_time() + timeout
        while True:
            if self._fatal is not None:
                raise self._fatal
            if self._buffered:
                return self._drain(int(self.config["max.poll.records"]))
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                return []
            await self._ensure_positions()
            wanted = {tp: self._fetch_positions[tp] for tp in self._assignment - self._paused
                      if tp in self._fetch_positions}
            if not wanted:
                with trio.move_on_after(min(remaining, 0.1)):
                    await self._assignment_changed.wait()
                continue
            max_wait_ms = int(min(int(self.config["fetch.max.wait.ms"]), remaining * 1000))
            self._accept(await fetch_from_leaders(self.cluster, wanted, self._fetch_options(max_wait_ms)),
                         wanted)

    def _fetch_options(self, max_wait_ms: int) -> dict:
        c = self.config
        return {"max_wait_ms": max_wait_ms, "min_bytes": int(c["fetch.min.bytes"]),
                "max_bytes": int(c["fetch.max.bytes"]),
                "partition_max_bytes": int(c["max.partition.fetch.bytes"]),
                "read_committed": self.read_committed}

    def _accept(self, results: dict[TopicPartition, FetchResult], wanted) -> None:
        for tp, result in results.items():
            if tp not in self._assignment or self._fetch_positions.get(tp) != wanted[tp]:
                continue  # revoked or seeked meanwhile: the data is stale
            if result.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
                self._reset_needed(tp)
                continue
            self._watermarks[tp] = (result.high_watermark, result.last_stable_offset)
            self._fetch_positions[tp] = result.next_position
            if result.records:
                self._buffered[tp] = result.records
            elif tp not in self._buffered:
                self._positions[tp] = result.next_position  # past control batches

    def _drain(self, max_records: int) -> list[ConsumerRecord]:
        out: list[ConsumerRecord] = []
        for tp in list(self._buffered):
            records = self._buffered[tp]
            taken = records[: max_records - len(out)]
            out.extend(taken)
            if len(taken) < len(records):
                self._buffered[tp] = records[len(taken):]
                self._positions[tp] = records[len(taken)].offset
                break
            del self._buffered[tp]
            self._positions[tp] = self._fetch_positions[tp]
        return out

    def _reset_needed(self, tp: TopicPartition) -> None:
        for state in (self._positions, self._fetch_positions, self._buffered):
            state.pop(tp, None)
        self._reset_pending.add(tp)

    async def _ensure_positions(self) -> None:
        """A position for every assigned partition: committed offset, else the reset policy."""
        missing = [tp for tp in self._assignment if tp not in self._fetch_positions]
        if not missing:
            return
        committed = {}
        if self.group_id is not None:
            ask = [tp for tp in missing if tp not in self._reset_pending]
            committed = {tp: o.offset for tp, o in
                         (await self._fetch_committed(ask)).items()} if ask else {}
        reset = [tp for tp in missing if tp not in committed]
        if reset:
            committed.update(await self._reset_offsets(reset))
        for tp, offset in committed.items():
            if tp in self._assignment and tp not in self._fetch_positions:
                self._positions[tp] = self._fetch_positions[tp] = offset
                self._reset_pending.discard(tp)

    async def _fetch_committed(self, partitions: list[TopicPartition]
                               ) -> dict[TopicPartition, groups.OffsetAndMetadata]:
        """The committed offsets, *stable* ones only (KIP-447), as Kafka's consumer asks.

        Offsets a transaction committed but has not completed yet (its marker
        is still to come) are refused with UNSTABLE_OFFSET_COMMIT: starting
        from the offsets before them could process records twice. Ask again
        until ``default.api.timeout.ms``.
        """
        deadline = trio.current_time() + self.cluster.default_api_timeout_ms / 1000
        attempts = 0
        while True:
            try:
                return await groups.fetch_offsets(self.cluster, self._need_group(), partitions,
                                                  require_stable=True)
            except KafkaError as exc:
                if exc.code != ErrorCode.UNSTABLE_OFFSET_COMMIT or trio.current_time() >= deadline:
                    raise
            await trio.sleep(self.cluster.backoff.backoff_ms(attempts) / 1000)
            attempts += 1

    async def _reset_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        policy = str(self.config["auto.offset.reset"]).lower()
        if policy == "none":
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"no committed offset and auto.offset.reset=none for {sorted(partitions)}")
        timestamp = admin.EARLIEST if policy in ("earliest", "smallest", "beginning") \
            else admin.LATEST
        return await groups.list_offsets(self.cluster, partitions, timestamp,
                                         read_committed=self.read_committed)

    # -- positions ------------------------------------------------------------------------

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """The next ``poll()`` returns records of ``partition`` from ``offset``."""
        if partition not in self._assignment:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{partition} is not assigned")
        self._buffered.pop(partition, None)
        self._positions[partition] = self._fetch_positions[partition] = offset

    async def seek_to_beginning(self, partitions: list[TopicPartition] | None = None) -> None:
        await self._seek_to(partitions, admin.EARLIEST)

    async def seek_to_end(self, partitions: list[TopicPartition] | None = None) -> None:
        await self._seek_to(partitions, admin.LATEST)

    async def _seek_to(self, partitions, timestamp: int) -> None:
        targets = sorted(self._assignment if partitions is None else partitions)
        for tp, offset in (await groups.list_offsets(self.cluster, targets, timestamp,
                                                     read_committed=self.read_committed)).items():
            self.seek(tp, offset)

    async def position(self, partition: TopicPartition) -> int:
        """The offset of the next record ``poll()`` will return for ``partition``."""
        if partition not in self._assignment:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{partition} is not assigned")
        await self._ensure_positions()
        return self._positions[partition]

    async def offsets_for_times(self, timestamps: dict[TopicPartition, int]
                                ) -> dict[TopicPartition, int | None]:
        """Per partition, the first offset whose timestamp is >= the given one (None: none)."""
        found = {}
        for ts in set(timestamps.values()):
            tps = [tp for tp, t in timestamps.items() if t == ts]
            for tp, offset in (await groups.list_offsets(self.cluster, tps, ts,
                                                         read_committed=self.read_committed)).items():
                found[tp] = offset if offset >= 0 else None
        return found

    def lag(self, partition: TopicPartition) -> int | None:
        """Records between the position and the end (the LSO under read_committed),
        from the last Fetch response; None before the first one."""
        if partition not in self._watermarks or partition not in self._positions:
            return None
        high_watermark, last_stable_offset = self._watermarks[partition]
        end = last_stable_offset if self.read_committed and last_stable_offset >= 0 else high_watermark
        return max(0, end - self._positions[partition])

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Stop fetching these partitions (they stay assigned); drop their buffered records."""
        for tp in partitions:
            if tp in self._assignment:
                self._paused.add(tp)
                if self._buffered.pop(tp, None) is not None:
                    self._fetch_positions[tp] = self._positions[tp]

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._paused.difference_update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    # -- offsets ---------------------------------------------------------------------------

    async def committed(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offsets (None where there is none)."""
        offsets = await self._fetch_committed(list(partitions))
        return {tp: offsets[tp].offset if tp in offsets else None for tp in partitions}

    async def commit(self, offsets: dict[TopicPartition, int] | None = None, *,
                     asynchronous: bool = False, on_commit=None) -> None:
        """Commit ``offsets`` (default: the current positions).

        Args:
            asynchronous: return at once; the commit runs in the background and
                ``on_commit(error_or_None, offsets)`` is called when it is done.

        Raises:
            KafkaError: the commit failed (sync only), e.g. REBALANCE_IN_PROGRESS
                or ILLEGAL_GENERATION when the group moved on.
        """
        self._need_group()
        offsets = dict(self._positions if offsets is None else offsets)
        if not asynchronous:
            await self._commit(offsets)
            return
        self._nursery.start_soon(self._commit_in_background, offsets, on_commit)

    async def _commit_in_background(self, offsets, on_commit) -> None:
        error = None
        try:
            await self._commit(offsets)
        except (KafkaError, OSError) as exc:
            error = exc
        if on_commit is not None:
            result = on_commit(error, offsets)
            if inspect.isawaitable(result):
                await result

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        membership = self._membership
        await groups.commit_offsets(
            self.cluster, self.group_id, offsets,
            generation_id=membership.generation_id if membership else -1,
            member_id=membership.member_id if membership else "",
            group_instance_id=self.config["group.instance.id"] if membership else None)

    async def _commit_quietly(self, offsets=None) -> None:
        """Auto-commit: a failure is not fatal (the next commit, or the group's, redoes it)."""
        try:
            await self._commit(dict(self._positions) if offsets is None else offsets)
        except (KafkaError, OSError):
            pass

    def group_metadata(self) -> groups.ConsumerGroupMetadata:
        """The group id, generation, member id and instance id, for a transactional
        producer's ``send_offsets_to_transaction`` (KIP-447).

        Raises:
            ValueError: no ``group.id``.
        """
        membership = self._membership
        return groups.ConsumerGroupMetadata(
            self._need_group(),
            generation_id=membership.generation_id if membership else -1,
            member_id=membership.member_id if membership else "",
            group_instance_id=self.config["group.instance.id"])

    def metrics(self) -> dict[str, float]:
        """The consumer metrics this consumer keeps, by Kafka's names.

        ``fetch-throttle-time-avg`` / ``-max``: the throttle time (ms) the
        brokers reported in their responses, over the last
        ``metrics.num.samples`` windows of ``metrics.sample.window.ms``
        (NaN when no response came in that time).
        """
        return self.cluster.throttle_time_sensor.metrics("fetch", trio.current_time() * 1000)

    def _need_group(self) -> str:
        if self.group_id is None:
            raise ValueError("this needs group.id")
        return self.group_id
