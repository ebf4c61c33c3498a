"""The leader's fetch session cache (KIP-227; Kafka's ``FetchSession.scala``).

A fetcher that names the same partitions in every Fetch wastes both sides'
time: an idle follower asks about all of them every
``replica.fetch.wait.max.ms`` and hears "nothing new" about each. With a
fetch session the leader remembers the partitions, their request fields
(``fetch_offset``, ``partition_max_bytes``, ...) and what it last told the
fetcher about them (``high_watermark``, ``log_start_offset``). Then:

- a *full* fetch (``session_epoch`` 0) names every partition; the answer
  names every partition too and carries a new ``session_id`` if the cache
  had room (0 otherwise: no session, every later fetch is full);
  ``session_epoch`` -1 (final) closes the named session and creates none;
- an *incremental* fetch (``session_id`` and the next ``session_epoch``)
  names only the partitions whose request fields changed, and in
  ``forgotten_topics_data`` those to drop; the leader reads every partition
  of the session, and answers only those with news: records, a moved high
  watermark or log start offset, an error, a diverging epoch. Partitions
  that returned records move to the end of the session, so the next
  fetch's ``max_bytes`` favours the others.

Epochs order the requests of one session: each incremental fetch must carry
the session's epoch, which then moves on (1, 2, ..., wrapping to 1). An
unknown session id is FETCH_SESSION_ID_NOT_FOUND, a wrong epoch
INVALID_FETCH_SESSION_EPOCH, a session built with topic names used with
topic ids (or the reverse) FETCH_SESSION_TOPIC_ID_ERROR; the fetcher then
starts over with a full fetch.

Eviction (``max.incremental.fetch.session.cache.slots`` sessions): a new
session takes the least recently used one's slot if that one has been idle
longer than ``MIN_EVICTION_MS`` (two minutes, a constant in Kafka too);
otherwise it may take the slot of the least valuable evictable session,
ordered by (privileged, partition count, id), if the new one is worth at
least as much. Follower sessions are privileged; a session younger than the
eviction time can be evicted only by a privileged session and only if it is
not privileged itself.

Sans-I/O: time comes in as ``now_ms``, session ids from an injected
``random.Random``; the caller serialises access (the broker's single Trio
loop).
"""

from __future__ import annotations

import dataclasses
import random
import uuid

from minikafka.errors import ErrorCode

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
MAX_EPOCH = 0x7FFFFFFF
MIN_EVICTION_MS = 120_000


def next_epoch(epoch: int) -> int:
    """The epoch after ``epoch``: 0 -> 1, ..., int32 max -> 1; the final epoch stays final."""
    if epoch < 0:
        return FINAL_EPOCH
    return 1 if epoch == MAX_EPOCH else epoch + 1


@dataclasses.dataclass(slots=True)
class CachedPartition:
    """One partition of a session: the fetcher's last request fields, our last answer.

    The request fields carry the names of a Fetch request's partition, so a
    cached partition reads like one. ``high_watermark`` and
    ``leader_log_start_offset`` are what the fetcher last heard (-1: resend).
    """

    topic: str | None
    topic_id: uuid.UUID
    partition: int
    fetch_offset: int
    partition_max_bytes: int
    current_leader_epoch: int = -1
    last_fetched_epoch: int = -1
    log_start_offset: int = -1
    high_watermark: int = -1
    leader_log_start_offset: int = -1

    def update_request(self, fetch_partition) -> None:
        """Take a newer request's fields for this partition."""
        self.fetch_offset = fetch_partition.fetch_offset
        self.partition_max_bytes = fetch_partition.partition_max_bytes
        self.current_leader_epoch = getattr(fetch_partition, "current_leader_epoch", -1)
        self.last_fetched_epoch = getattr(fetch_partition, "last_fetched_epoch", -1)
        self.log_start_offset = getattr(fetch_partition, "log_start_offset", -1)

    def must_respond(self, data: dict, update: bool) -> bool:
        """Whether the answer ``data`` has news for the fetcher; if ``update``, remember it as sent."""
        respond = len(data["records"] or b"") > 0 or data.get("diverging_epoch") is not None
        respond = respond or data.get("preferred_read_replica", -1) >= 0
        if self.high_watermark != data["high_watermark"]:
            respond = True
            if update:
                self.high_watermark = data["high_watermark"]
        if self.leader_log_start_offset != data["log_start_offset"]:
            respond = True
            if update:
                self.leader_log_start_offset = data["log_start_offset"]
        if data["error_code"] != ErrorCode.NONE:
            respond = True
            if update:
                self.high_watermark = -1  # resend the partition once the error is gone
        return respond


def partition_key(uses_topic_ids: bool, topic: str | None, topic_id: uuid.UUID, index: int) -> tuple:
    """A session's key for a partition: by topic id (Fetch v13+) or by topic name."""
    return (topic_id, index) if uses_topic_ids else (topic, index)


def cached_partition(topic: str | None, topic_id: uuid.UUID, fetch_partition) -> CachedPartition:
    """A new ``CachedPartition`` from a Fetch request's partition."""
    cached = CachedPartition(topic, topic_id, fetch_partition.partition, 0, 0)
    cached.update_request(fetch_partition)
    return cached


@dataclasses.dataclass(eq=False, slots=True)
class FetchSession:
    """One fetcher's session: its partitions in fetch order, keyed by (topic or topic id, index).

    ``uses_topic_ids`` is fixed at creation (Fetch v13+). ``epoch`` is the
    one the next incremental fetch must carry.
    """

    id: int
    privileged: bool
    uses_topic_ids: bool
    partitions: dict[tuple, CachedPartition]
    creation_ms: int
    last_used_ms: int
    epoch: int = 1

    @property
    def size(self) -> int:
        return len(self.partitions)

    def update(self, topics: list[tuple[str | None, uuid.UUID, list]], forgotten: list[tuple]) -> None:
        """Apply an incremental fetch: add or update the named partitions, drop the forgotten ones.

        Args:
            topics: ``[(topic name, topic id, [fetch partitions])]`` named by the request.
            forgotten: ``[(topic name, topic id, [partition indexes])]``.
        """
        for topic, topic_id, fetch_partitions in topics:
            for fetch_partition in fetch_partitions:
                key = partition_key(self.uses_topic_ids, topic, topic_id, fetch_partition.partition)
                cached = self.partitions.get(key)
                if cached is None:
                    self.partitions[key] = cached_partition(topic, topic_id, fetch_partition)
                else:
                    cached.update_request(fetch_partition)
        for topic, topic_id, indexes in forgotten:
            for index in indexes:
                self.partitions.pop(partition_key(self.uses_topic_ids, topic, topic_id, index), None)

    def move_to_end(self, cached: CachedPartition) -> None:
        """Put a partition that returned records last, for fairness under ``max_bytes``."""
        key = partition_key(self.uses_topic_ids, cached.topic, cached.topic_id, cached.partition)
        self.partitions[key] = self.partitions.pop(key)


def _evictable_key(session: FetchSession) -> tuple:
    """Kafka's ``EvictableKey``: the lowest is the least valuable session."""
    return (session.privileged, session.size, session.id)


class FetchSessionCache:
    """The broker's fetch sessions, at most ``max_slots`` of them (Kafka's ``FetchSessionCache``).

    Owned by the broker; not task-safe on its own (the caller runs in one
    Trio loop and never awaits between looking a session up and using it).

    Args:
        max_slots: ``max.incremental.fetch.session.cache.slots``.
        eviction_ms: how long a session is safe from eviction after its creation and its last use.
        rng: where new session ids come from (seeded in tests).
    """

    def __init__(self, max_slots: int, eviction_ms: int = MIN_EVICTION_MS, rng: random.Random | None = None):
        self.max_slots = max_slots
        self.eviction_ms = eviction_ms
        self.rng = rng or random.Random()
        self.sessions: dict[int, FetchSession] = {}
        self.evictions = 0

    def get(self, session_id: int) -> FetchSession | None:
        return self.sessions.get(session_id)

    def remove(self, session_id: int) -> FetchSession | None:
        return self.sessions.pop(session_id, None)

    def touch(self, session: FetchSession, now_ms: int) -> None:
        session.last_used_ms = now_ms

    def maybe_create(self, now_ms: int, privileged: bool, uses_topic_ids: bool,
                     partitions: dict[tuple, CachedPartition]) -> FetchSession | None:
        """A new session over ``partitions``, or None if no slot could be had."""
        if self.max_slots <= 0 or not self._try_evict(privileged, len(partitions), now_ms):
            return None
        session_id = self._new_session_id()
        session = FetchSession(session_id, privileged, uses_topic_ids, partitions, now_ms, now_ms)
        self.sessions[session_id] = session
        return session

    def _new_session_id(self) -> int:
        while True:
            session_id = self.rng.randint(1, MAX_EPOCH)
            if session_id not in self.sessions:
                return session_id

    def _try_evict(self, privileged: bool, size: int, now_ms: int) -> bool:
        """Make room for a new session of ``size`` partitions; whether there is room now."""
        if len(self.sessions) < self.max_slots:
            return True
        oldest = min(self.sessions.values(), key=lambda s: (s.last_used_ms, s.id))
        if now_ms - oldest.last_used_ms > self.eviction_ms:
            return self._evict(oldest)
        candidates = [s for s in self.sessions.values() if self._evictable(s, privileged, now_ms)]
        if not candidates:
            return False
        cheapest = min(candidates, key=_evictable_key)
        if (privileged, size, 0) < _evictable_key(cheapest):
            return False
        return self._evict(cheapest)

    def _evictable(self, session: FetchSession, by_privileged: bool, now_ms: int) -> bool:
        """Old sessions may be evicted by anyone; young unprivileged ones by privileged sessions."""
        old = now_ms - session.creation_ms > self.eviction_ms
        return old or (by_privileged and not session.privileged)

    def _evict(self, session: FetchSession) -> bool:
        del self.sessions[session.id]
        self.evictions += 1
        return True


class FetchContext:
    """What one Fetch request reads and how its answer is cut (Kafka's ``FetchContext``s).

    Built by :func:`new_context`. ``error`` is a session error to answer at
    once (no partition is read). Otherwise ``partitions`` is what to read:
    ``[(topic name, topic id, fetch partition)]``, from the request (full or
    sessionless) or from the session (incremental); then :meth:`respond`
    turns the per-partition answers into the session id and the partitions
    to send.
    """

    def __init__(self, cache: FetchSessionCache, partitions: list[tuple], *, error: ErrorCode = ErrorCode.NONE,
                 session: FetchSession | None = None, create: bool = False, privileged: bool = False,
                 uses_topic_ids: bool = False):
        self.cache = cache
        self.partitions = partitions
        self.error = error
        self.session = session
        self.expected_epoch = session.epoch if session is not None else None
        self.create = create
        self.privileged = privileged
        self.uses_topic_ids = uses_topic_ids

    def respond(self, answers: list[tuple], now_ms: int) -> tuple[ErrorCode, int, list[tuple]]:
        """``(error, session_id, answers to send)`` from ``[(topic, topic_id, fetch partition, data)]``.

        Full fetch: every answer, under a new session if the cache has room.
        Incremental: only the answers with news (``CachedPartition.must_respond``),
        or INVALID_FETCH_SESSION_EPOCH if another fetch of the session
        overtook this one while it waited.
        """
        if self.session is not None:
            return self._respond_incremental(answers)
        if not self.create:
            return ErrorCode.NONE, INVALID_SESSION_ID, answers
        partitions = {}
        for topic, topic_id, fetch_partition, data in answers:
            cached = cached_partition(topic, topic_id, fetch_partition)
            cached.must_respond(data, update=True)
            partitions[partition_key(self.uses_topic_ids, topic, topic_id, cached.partition)] = cached
        session = self.cache.maybe_create(now_ms, self.privileged, self.uses_topic_ids, partitions)
        return ErrorCode.NONE, session.id if session is not None else INVALID_SESSION_ID, answers

    def response_size(self, answers: list[tuple]) -> int:
        """The record bytes :meth:`respond` would send, changing nothing (Kafka's ``getResponseSize``).

        A fetch quota records this before the answer is made, so that a
        throttled fetch leaves the session as it was.
        """
        if self.session is None:
            return sum(len(data["records"] or b"") for *_, data in answers)
        return sum(len(data["records"] or b"") for _, _, cached, data in answers
                   if cached.must_respond(data, update=False))

    def throttled(self) -> tuple[ErrorCode, int]:
        """``(error, session_id)`` of an empty, throttled answer (Kafka's ``getThrottledResponse``).

        No session is created, and an existing one keeps what it last sent;
        its epoch has moved on, so the fetcher's next incremental fetch fits.
        """
        if self.session is None:
            return ErrorCode.NONE, INVALID_SESSION_ID
        if self.session.epoch != self.expected_epoch:
            return ErrorCode.INVALID_FETCH_SESSION_EPOCH, self.session.id
        return ErrorCode.NONE, self.session.id

    def _respond_incremental(self, answers: list[tuple]) -> tuple[ErrorCode, int, list[tuple]]:
        session = self.session
        if session.epoch != self.expected_epoch or self.cache.get(session.id) is not session:
            return ErrorCode.INVALID_FETCH_SESSION_EPOCH, INVALID_SESSION_ID, []
        kept = []
        for answer in answers:
            cached, data = answer[2], answer[3]
            if cached.must_respond(data, update=True):
                kept.append(answer)
                if len(data["records"] or b"") > 0:
                    session.move_to_end(cached)
        return ErrorCode.NONE, session.id, kept


def new_context(cache: FetchSessionCache, session_id: int, session_epoch: int, uses_topic_ids: bool,
                topics: list[tuple], forgotten: list[tuple], privileged: bool, now_ms: int) -> FetchContext:
    """The context of one Fetch request (Kafka's ``FetchManager.newContext``).

    Args:
        session_id, session_epoch: the request's (v7+; 0 and -1 before).
        uses_topic_ids: the request names topics by id (v13+).
        topics: ``[(topic name or None, topic id, [fetch partitions])]`` as requested.
        forgotten: ``[(topic name or None, topic id, [partition indexes])]``.
        privileged: the fetcher is a follower replica.
    """
    if session_epoch in (INITIAL_EPOCH, FINAL_EPOCH):
        if session_id != INVALID_SESSION_ID:
            cache.remove(session_id)  # a full fetch closes the session it names
        requested = [(topic, topic_id, fp) for topic, topic_id, fps in topics for fp in fps]
        return FetchContext(cache, requested, create=session_epoch == INITIAL_EPOCH, privileged=privileged,
                            uses_topic_ids=uses_topic_ids)
    session = cache.get(session_id)
    if session is None:
        return FetchContext(cache, [], error=ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    if session.epoch != session_epoch:
        return FetchContext(cache, [], error=ErrorCode.INVALID_FETCH_SESSION_EPOCH)
    if session.uses_topic_ids != uses_topic_ids:
        return FetchContext(cache, [], error=ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR)
    session.update(topics, forgotten)
    if not session.partitions:
        cache.remove(session.id)  # nothing left to fetch: answer without a session
        return FetchContext(cache, [])
    cache.touch(session, now_ms)
    session.epoch = next_epoch(session.epoch)
    return FetchContext(cache, [(c.topic, c.topic_id, c) for c in session.partitions.values()],
                        session=session, privileged=privileged, uses_topic_ids=uses_topic_ids)
