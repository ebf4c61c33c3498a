"""The kinds of metric Kafka's broker publishes, as the Yammer metrics library defines them.

Kafka's broker metrics (``kafka.server``, ``kafka.network``, ``kafka.log``,
``kafka.controller``) are Yammer metrics-core 2.2 objects. This module
re-creates their readings, so that an operator sees the numbers Kafka shows:

- :class:`Gauge` -- a callable read when someone looks (attribute ``Value``).
  Nothing is stored: the broker's own state is the truth.
- :class:`Counter` -- a number moved up or down (``Count``).
- :class:`Meter` -- a count of events and its rates (``Count``,
  ``OneMinuteRate``, ``FiveMinuteRate``, ``FifteenMinuteRate``, ``MeanRate``,
  all per second).
- :class:`Histogram` -- a distribution of values (``Count``, ``Min``, ``Max``,
  ``Mean``, ``50thPercentile`` ... ``999thPercentile``).
- :class:`Timer` -- a histogram of durations plus the meter of its calls.

The rates: Yammer's exponentially weighted moving average (:class:`EWMA`).
Every ``TICK_INTERVAL_S`` (5 s) the events of the last interval become an
instant rate ``r = n / 5``, and the average moves towards it::

    alpha = 1 - exp(-5 s / 60 s / minutes)       (minutes = 1, 5 or 15)
    rate  = r                                    on the first tick
    rate  = rate + alpha * (r - rate)            on every later tick

The recording paths are the broker's hot paths, so they do as little as
possible: ``Meter.mark(n)`` is one addition, no clock read. The ticks are
*lazy*: whoever reads a rate first catches up every whole interval elapsed
since the last tick. The events counted since then are spread evenly over
those intervals (exact for a steady rate; Yammer, which ticks on each mark,
puts them in the interval they happened in). Read at least every 5 s (a
console does), the two agree.

The percentiles: Yammer's ``Snapshot.getValue(q)`` over the values kept in a
bounded reservoir, the linear interpolation at position ``q * (n + 1)`` of
the sorted values. Kafka's histograms use an exponentially decaying
reservoir of 1028 values (biased towards the last five minutes); minikafka
keeps the *last* 1028 values in a ring (one list store per update, no
random numbers, no clock), which is biased to the recent too. Count, min,
max and mean are over every value, as Yammer's.

Sans-I/O: the clock is a callable handed in (seconds, monotonic).
"""

from __future__ import annotations

import math
from typing import Callable

Clock = Callable[[], float]

TICK_INTERVAL_S = 5.0
RESERVOIR_SIZE = 1028  # Yammer's default sample size
PERCENTILES = (0.5, 0.75, 0.95, 0.98, 0.99, 0.999)


class EWMA:
    """Yammer's exponentially weighted moving average of a rate (events per second).

    Args:
        minutes: the averaging window (1, 5, 15).
        interval_s: the tick interval.
    """

    __slots__ = ("alpha", "interval_s", "rate", "initialized")

    def __init__(self, minutes: float, interval_s: float = TICK_INTERVAL_S):
        self.alpha = 1.0 - math.exp(-interval_s / 60.0 / minutes)
        self.interval_s = interval_s
        self.rate = 0.0
        self.initialized = False

    def tick(self, count: float) -> None:
        """One interval elapsed in which ``count`` events happened."""
        instant_rate = count / self.interval_s
        if self.initialized:
            self.rate += self.alpha * (instant_rate - self.rate)
        else:
            self.rate = instant_rate
            self.initialized = True

    def tick_many(self, count: float, ticks: int) -> None:
        """``ticks`` intervals elapsed holding ``count`` events evenly: ``ticks`` calls of :meth:`tick`.

        Closed form (an idle broker may catch up thousands of ticks):
        with the same instant rate ``r`` each time, ``rate_k = r + (1-alpha)^k (rate_0 - r)``.
        """
        if ticks <= 0:
            return
        instant_rate = count / ticks / self.interval_s
        if not self.initialized:
            self.rate = instant_rate
            self.initialized = True
            ticks -= 1
        self.rate = instant_rate + (1.0 - self.alpha) ** ticks * (self.rate - instant_rate)


class Gauge:
    """A value read when looked at (``Value``): ``fn()`` at every read, nothing stored."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], float]):
        self.fn = fn

    @property
    def value(self) -> float:
        return self.fn()


class Counter:
    """A number moved up and down (``Count``)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def inc(self, n: int = 1) -> None:
        self.count += n

    def dec(self, n: int = 1) -> None:
        self.count -= n


class _Rates:
    """The rate readings of a ``count`` that only grows (shared by :class:`Meter` and :class:`Timer`)."""

    __slots__ = ()
    count: int

    def _init_rates(self, clock: Clock) -> None:
        self._clock = clock
        self._start = self._last_tick = clock()
        self._ticked_count = 0
        self._m1, self._m5, self._m15 = EWMA(1), EWMA(5), EWMA(15)

    def _tick_if_necessary(self) -> float:
        """Catch up the whole intervals elapsed since the last tick; returns now."""
        now = self._clock()
        ticks = int((now - self._last_tick) // TICK_INTERVAL_S)
        if ticks > 0:
            self._last_tick += ticks * TICK_INTERVAL_S
            new = self.count - self._ticked_count
            self._ticked_count = self.count
            for ewma in (self._m1, self._m5, self._m15):
                ewma.tick_many(new, ticks)
        return now

    @property
    def one_minute_rate(self) -> float:
        self._tick_if_necessary()
        return self._m1.rate

    @property
    def five_minute_rate(self) -> float:
        self._tick_if_necessary()
        return self._m5.rate

    @property
    def fifteen_minute_rate(self) -> float:
        self._tick_if_necessary()
        return self._m15.rate

    @property
    def mean_rate(self) -> float:
        """Events per second since the meter was created (0 before the first event)."""
        if self.count == 0:
            return 0.0
        elapsed = self._clock() - self._start
        return self.count / elapsed if elapsed > 0 else 0.0


class Meter(_Rates):
    """Events and their rate (Kafka's ``...PerSec`` metrics).

    Args:
        clock: monotonic seconds, read only when a rate is read.
    """

    __slots__ = ("count", "_clock", "_start", "_last_tick", "_ticked_count", "_m1", "_m5", "_m15")

    def __init__(self, clock: Clock):
        self.count = 0
        self._init_rates(clock)

    def mark(self, n: int = 1) -> None:
        """``n`` events happened now: one addition."""
        self.count += n


class Histogram:
    """A distribution of values: count, min, max, mean, percentiles of the recent values.

    Args:
        size: how many of the most recent values the reservoir keeps.
    """

    __slots__ = ("count", "sum", "min", "max", "_values", "_size")

    def __init__(self, size: int = RESERVOIR_SIZE):
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self._values = [0.0] * size
        self._size = size

    def update(self, value: float) -> None:
        """Record one value."""
        self._values[self.count % self._size] = value
        self.count += 1
        self.sum += value
        if value > self.max:
            self.max = value
        if value < self.min:
            self.min = value

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def snapshot(self) -> list[float]:
        """The values in the reservoir, sorted."""
        return sorted(self._values[:min(self.count, self._size)])

    def percentile(self, quantile: float, snapshot: list[float] | None = None) -> float:
        """Yammer's ``Snapshot.getValue(quantile)``: interpolated at ``quantile * (n + 1)``."""
        values = self.snapshot() if snapshot is None else snapshot
        return quantile_of(values, quantile)

    def percentiles(self, quantiles=PERCENTILES) -> dict[float, float]:
        """``{quantile: value}`` from one snapshot."""
        values = self.snapshot()
        return {q: quantile_of(values, q) for q in quantiles}


def quantile_of(values: list[float], quantile: float) -> float:
    """The ``quantile`` of sorted ``values`` as Yammer's ``Snapshot.getValue`` (0 when empty)."""
    if not values:
        return 0.0
    pos = quantile * (len(values) + 1)
    if pos < 1:
        return values[0]
    if pos >= len(values):
        return values[-1]
    lower, upper = values[int(pos) - 1], values[int(pos)]
    return lower + (pos - math.floor(pos)) * (upper - lower)


class Timer(Histogram, _Rates):
    """A histogram of durations and the meter of its calls (Yammer's ``Timer``).

    Args:
        clock: monotonic seconds, read only when a rate is read.
        size: the reservoir size.
    """

    __slots__ = ("_clock", "_start", "_last_tick", "_ticked_count", "_m1", "_m5", "_m15")

    def __init__(self, clock: Clock, size: int = RESERVOIR_SIZE):
        Histogram.__init__(self, size)
        self._init_rates(clock)


# -- no-op twins (MINIKAFKA_METRICS=0) ---------------------------------------------------

class NullCounter(Counter):
    """A counter that records nothing."""

    __slots__ = ()

    def inc(self, n: int = 1) -> None:
        pass

    def dec(self, n: int = 1) -> None:
        pass


class NullMeter(Meter):
    """A meter that records nothing."""

    __slots__ = ()

    def mark(self, n: int = 1) -> None:
        pass


class NullHistogram(Histogram):
    """A histogram that records nothing."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(size=1)

    def update(self, value: float) -> None:
        pass


class NullTimer(Timer):
    """A timer that records nothing."""

    __slots__ = ()

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock, size=1)

    def update(self, value: float) -> None:
        pass


# -- the MBean's attributes ------------------------------------------------------------------

def percentile_attribute(quantile: float) -> str:
    """``0.5`` -> ``50thPercentile``, ``0.999`` -> ``999thPercentile`` (Yammer's attribute names)."""
    return f"{round(quantile * 1000) / 10:g}".replace(".", "") + "thPercentile"


def readings(metric) -> dict[str, float]:
    """Every attribute the metric's MBean shows, by Yammer's attribute names (for consoles and dumps).

    A gauge whose function raises propagates the error; one that returns None shows ``{}``.
    """
    if isinstance(metric, Gauge):
        value = metric.value
        return {} if value is None else {"Value": value}
    if isinstance(metric, Counter):
        return {"Count": metric.count}
    found: dict[str, float] = {"Count": metric.count}
    if isinstance(metric, (Meter, Timer)):
        found.update(MeanRate=metric.mean_rate, OneMinuteRate=metric.one_minute_rate,
                     FiveMinuteRate=metric.five_minute_rate, FifteenMinuteRate=metric.fifteen_minute_rate)
    if isinstance(metric, Histogram):
        found.update(Min=metric.min if metric.count else 0.0, Max=metric.max if metric.count else 0.0,
                     Mean=metric.mean)
        found.update((percentile_attribute(q), v) for q, v in metric.percentiles().items())
    return found
