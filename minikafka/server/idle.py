"""How idle the broker's Trio loop is: Kafka's two "AvgIdlePercent" metrics.

Kafka has network threads (``Processor``, selecting on sockets) and request
handler threads (``KafkaRequestHandler``, taking requests off a queue), and
reports for each pool the fraction of time its threads spent waiting for
work: ``kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent``
and ``kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent``.
Both are fractions between 0 and 1 despite their names; an alert usually
fires below 0.3 (a busy broker).

minikafka has one thread: a Trio run whose tasks read sockets *and* handle
requests. The loop is idle exactly while it waits for I/O with nothing to
run: Trio calls an instrument's ``before_io_wait`` and ``after_io_wait``
around that wait (``epoll_wait``), and ``LoopIdle`` adds its length to
``idle_ns``. So both metrics report the same number here: the share of
wall time the loop spent in its I/O wait.

``IdleWindow`` turns the running total into a fraction, as a gauge read at
scrape time::

    fraction = (idle_ns now - idle_ns then) / (now - then)

over the time since the previous reading, when that is at least
``MIN_WINDOW_NS`` (one second); a reading sooner returns the last value, so
two quick scrapes do not divide by almost nothing. The first reading covers
the time since the window was made. Each broker has its own window over the
run's one instrument (brokers of an in-process cluster share the loop).

The instrument is installed once per Trio run (a ``RunVar``), when the first
broker starts; two ``perf_counter_ns`` calls per loop iteration.
"""

from __future__ import annotations

import time

import trio

_perf_ns = time.perf_counter_ns
MIN_WINDOW_NS = 1_000_000_000


class LoopIdle(trio.abc.Instrument):
    """Total time (ns) the Trio loop spent waiting for I/O. One per Trio run.

    Invariant: ``_wait_began`` is 0 unless the loop is inside its I/O wait.
    """

    def __init__(self) -> None:
        self.idle_ns = 0
        self._wait_began = 0

    def before_io_wait(self, timeout: float) -> None:
        self._wait_began = _perf_ns()

    def after_io_wait(self, timeout: float) -> None:
        if self._wait_began:
            self.idle_ns += _perf_ns() - self._wait_began
            self._wait_began = 0


class IdleWindow:
    """The fraction of time the loop was idle, measured between two readings."""

    def __init__(self, instrument: LoopIdle) -> None:
        self._instrument = instrument
        self._then = _perf_ns()
        self._idle_then = instrument.idle_ns
        self._last = 1.0  # nothing measured yet: an unloaded broker
        self._measured = False

    def fraction(self) -> float:
        """The idle share of wall time since the previous reading (0.0 to 1.0)."""
        now = _perf_ns()
        elapsed = now - self._then
        if elapsed >= MIN_WINDOW_NS or (elapsed > 0 and not self._measured):
            idle = self._instrument.idle_ns - self._idle_then
            self._last = min(1.0, max(0.0, idle / elapsed))
            self._then, self._idle_then = now, self._instrument.idle_ns
            self._measured = True
        return self._last


_LOOP_IDLE: trio.lowlevel.RunVar = trio.lowlevel.RunVar("minikafka_loop_idle")


def loop_idle() -> LoopIdle:
    """This Trio run's ``LoopIdle``, installed as an instrument on first use."""
    try:
        return _LOOP_IDLE.get()
    except LookupError:
        instrument = LoopIdle()
        trio.lowlevel.add_instrument(instrument)
        _LOOP_IDLE.set(instrument)
        return instrument
