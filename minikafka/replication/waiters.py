"""Waiting on partitions under Trio: long-polling fetches and acks=all produces.

A ``Partition`` is synchronous: it only calls its listeners after a leader
append (``APPENDED``) or a high watermark move or role change
(``COMMITTED``). This module turns those calls into Trio waits:

- ``wait_for_appends``: a follower's long-polling Fetch (Kafka's
  ``DelayedFetch`` for replicas) waits for new records;
- ``wait_for_commits``: a consumer's Fetch waits for the high watermark;
- ``wait_for_isr``: an acks=all produce (Kafka's ``DelayedProduce``), and the
  group coordinator's writes, wait until the in-sync replicas have their
  records.

One listener call per event, not per waiter: for a wait on one partition
(every acks=all produce, a follower's fetch of one partition) the partition
gets one ``_Signal`` per kind, registered once as its listener. The signal
holds a ``trio.Event`` every such waiter parks on; an event sets it (each
waiter is rescheduled) and puts a fresh one in its place, so nothing is
registered or removed as requests come and go. A wait on several partitions
registers a listener of its own on each for its duration.

Time is Trio's clock (``trio.current_time``), so a ``MockClock`` drives the
timeouts; deadlines are in milliseconds on that clock (``Broker.monotonic_ms``).

Purgatories (Kafka's ``DelayedOperationPurgatory``): Kafka parks a request
that must wait (a long-polling fetch, an acks=all produce) in a purgatory
and frees its handler thread. Here the connection task itself waits, so a
``Purgatory`` only *counts*: ``watch()`` is entered around a wait, which
makes ``size`` the number of requests waiting right now (Kafka's
``PurgatorySize`` gauge). A broker has one for Produce and one for Fetch.
``watch()`` also adds the time waited to the current request's
``RemoteTime`` (``track_remote_time``), which becomes Kafka's
``RemoteTimeMs``: the time a request spent waiting on others (followers,
new records) rather than being worked on.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import weakref

import trio

from minikafka.errors import ErrorCode
from minikafka.replication.partition import APPENDED, COMMITTED, Partition


class RemoteTime:
    """The nanoseconds the current request waited in purgatories (``RemoteTimeMs``).

    One per connection task (``track_remote_time``); its owner reads and
    zeroes ``ns`` after each request.
    """

    __slots__ = ("ns",)

    def __init__(self) -> None:
        self.ns = 0


_remote_time: contextvars.ContextVar[RemoteTime] = contextvars.ContextVar("minikafka_remote_time")


def track_remote_time() -> RemoteTime:
    """Make purgatory waits of the current task (and the tasks it starts) add to a new ``RemoteTime``."""
    remote = RemoteTime()
    _remote_time.set(remote)
    return remote


class Purgatory:
    """How many requests wait in one kind of delayed operation (Kafka's ``PurgatorySize``).

    Attributes:
        size: requests inside ``watch()`` now (never negative).
    """

    def __init__(self) -> None:
        self.size = 0

    @contextlib.contextmanager
    def watch(self):
        """Count one waiting request for the duration; add its wait to the task's ``RemoteTime``."""
        self.size += 1
        began = time.perf_counter_ns()
        try:
            yield
        finally:
            self.size -= 1
            remote = _remote_time.get(None)
            if remote is not None:
                remote.ns += time.perf_counter_ns() - began


class _Signal:
    """One partition's wake-up for one kind of event (see the module docstring)."""

    def __init__(self):
        self.event = trio.Event()

    def fire(self) -> None:
        self.event.set()
        self.event = trio.Event()


_signals: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Partition -> {kind: _Signal}


def _event_of(partition: Partition, kind: str) -> trio.Event:
    """The event the next ``kind`` event on ``partition`` sets."""
    signals = _signals.get(partition)
    if signals is None:
        signals = _signals[partition] = {}
    signal = signals.get(kind)
    if signal is None:
        signal = signals[kind] = _Signal()
        partition.add_listener(kind, signal.fire)
    return signal.event


async def wait_for_appends(partitions, timeout_ms: float) -> bool:
    """Wait until one of ``partitions`` is appended to (or changes role), or ``timeout_ms``.

    A follower's long-polling Fetch waits for this. Returns True if woken.
    """
    return await _wait_for(APPENDED, partitions, timeout_ms)


async def wait_for_commits(partitions, timeout_ms: float) -> bool:
    """Wait until the high watermark of one of ``partitions`` moves (or it
    changes role), or ``timeout_ms``.

    A consumer's long-polling Fetch and an acks=all produce wait for this.
    Returns True if woken.
    """
    return await _wait_for(COMMITTED, partitions, timeout_ms)


async def wait_for_isr(partition: Partition, required_offset: int, deadline_ms: float) -> ErrorCode:
    """Wait until the in-sync replicas have every record below ``required_offset``.

    The acks=all rule (``Partition.acks_all_result``), waited for until
    ``deadline_ms`` on Trio's clock. Used by Produce and by the group
    coordinator's writes.

    Returns:
        NONE, or REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        NOT_LEADER_OR_FOLLOWER.
    """
    while (error := partition.acks_all_result(required_offset)) is None:
        remaining_ms = deadline_ms - trio.current_time() * 1000
        if remaining_ms <= 0:
            return ErrorCode.REQUEST_TIMED_OUT
        await wait_for_commits([partition], remaining_ms)
    return error


async def _wait_for(kind: str, partitions, timeout_ms: float) -> bool:
    if timeout_ms <= 0:
        return False
    if len(partitions) == 1:  # the common case: the partition's shared event
        event = _event_of(partitions[0], kind)
        with trio.move_on_after(timeout_ms / 1000):
            await event.wait()
        return event.is_set()
    # Several partitions: one event of this wait's own, set by whichever moves first.
    happened = trio.Event()
    for partition in partitions:
        partition.add_listener(kind, happened.set)
    try:
        with trio.move_on_after(timeout_ms / 1000):
            await happened.wait()
    finally:
        for partition in partitions:
            partition.remove_listener(kind, happened.set)
    return happened.is_set()
