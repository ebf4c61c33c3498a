"""Windowed statistics for quotas: Kafka's SampledStat, Rate, SimpleRate, Avg and TokenBucket.

Every quota in Kafka is a *sensor*: a statistic measured over a sliding window,
compared with a bound. This module owns those statistics, as plain objects
driven by ``now_ms`` (the caller's clock); nothing here reads a clock.

Sampled statistics (``SampledStat``)
    The window is ``num_samples`` samples of ``window_ms`` each (Kafka's
    ``quota.window.num`` = 11 and ``quota.window.size.seconds`` = 1). A
    recording goes into the *current* sample; once that sample is
    ``window_ms`` old, the next slot of a ring of ``num_samples + 1`` slots is
    reset and becomes current (the extra slot keeps a sample that overlaps the
    start of the monitored window). Before a measurement, every sample whose
    last event is ``num_samples * window_ms`` or more in the past is
    *purged*: reset to start now, empty.

Rate (``Rate``: bytes or percent per second)
    ``measure = sum of the samples / window_size_ms * 1000`` where
    ``window_size_ms = now - start of the oldest sample``, raised to at least
    ``num_samples - 1`` full windows (plus the elapsed part of the current
    one) so that a client's first burst is not divided by a tiny elapsed time,
    and never below 1 ms. ``SimpleRate`` (replication throttles) uses
    ``max(elapsed, window_ms)`` instead.

Throttle time (Kafka's QuotaUtils.throttleTime)
    If the observed rate ``O`` exceeds the bound ``T`` over a window ``W``, a
    delay ``X`` with ``O * W / (W + X) = T`` brings it back:
    ``X = (O - T) / T * W``, rounded half up (Java's ``Math.round``).

Token bucket (``TokenBucket``, KIP-599)
    Holds up to ``burst = quota * num_samples * window_s`` tokens, refilled
    at ``quota`` tokens per second. A recording takes tokens and may drive
    the count negative; a *violation* is a negative count, and the throttle
    time is the time to refill back to zero: ``-tokens / quota * 1000`` ms.

None of these objects is task-safe; each belongs to one broker and is used
from its Trio tasks only.
"""

from __future__ import annotations

import math

#: Kafka's ``quota.window.num`` and ``quota.window.size.seconds`` defaults.
DEFAULT_NUM_SAMPLES = 11
DEFAULT_WINDOW_MS = 1000
#: Throttle times are Java ints in Kafka's responses.
INT_MAX = 2**31 - 1


def java_round(value: float) -> int:
    """Round half up, as Java's ``Math.round(double)`` does (Python rounds half to even)."""
    return math.floor(value + 0.5)


def throttle_time_ms(observed: float, bound: float, window_size_ms: int) -> int:
    """Delay that brings an observed rate back to its bound (Kafka's QuotaUtils.throttleTime).

    Args:
        observed: the measured rate, above ``bound``.
        bound: the quota (same unit as ``observed``), positive.
        window_size_ms: the window the rate was measured over (``Rate.window_size_ms``).

    Returns:
        ``round((observed - bound) / bound * window_size_ms)`` in milliseconds,
        at most ``INT_MAX`` (a quota of 0 throttles "for ever").
    """
    if bound <= 0:
        return INT_MAX
    return min(java_round((observed - bound) / bound * window_size_ms), INT_MAX)


class Sample:
    """One sample of a windowed statistic (Kafka's SampledStat.Sample)."""

    __slots__ = ("value", "event_count", "start_ms", "last_event_ms")

    def __init__(self, initial_value: float, now_ms: int):
        self.value = initial_value
        self.event_count = 0
        self.start_ms = now_ms
        self.last_event_ms = now_ms

    def reset(self, initial_value: float, now_ms: int) -> None:
        """Empty the sample and make it start at ``now_ms``."""
        self.value = initial_value
        self.event_count = 0
        self.start_ms = now_ms
        self.last_event_ms = now_ms


class SampledStat:
    """A statistic kept in a ring of ``num_samples + 1`` samples (Kafka's SampledStat).

    Subclasses say how a value updates a sample (``_update``) and how the
    samples combine into one measurement (``_combine``).

    Args:
        num_samples: samples in the monitored window (``quota.window.num``).
        window_ms: length of one sample (``quota.window.size.seconds`` * 1000).
    """

    __slots__ = ("num_samples", "window_ms", "_samples", "_current")

    initial_value = 0.0

    def __init__(self, num_samples: int = DEFAULT_NUM_SAMPLES, window_ms: int = DEFAULT_WINDOW_MS):
        if num_samples < 1 or window_ms < 1:
            raise ValueError("a windowed statistic needs at least one sample of at least 1 ms")
        self.num_samples = num_samples
        self.window_ms = window_ms
        self._samples: list[Sample] = []
        self._current = 0

    def record(self, value: float, now_ms: int) -> None:
        """Add ``value`` to the current sample, first moving on if that sample is complete."""
        sample = self._current_sample(now_ms)
        if now_ms - sample.start_ms >= self.window_ms:
            sample = self._advance(now_ms)
        self._update(sample, value)
        sample.event_count += 1
        sample.last_event_ms = now_ms

    def measure(self, now_ms: int) -> float:
        """Purge obsolete samples, then combine the rest into one value."""
        self.purge_obsolete_samples(now_ms)
        return self._combine(now_ms)

    def purge_obsolete_samples(self, now_ms: int) -> None:
        """Reset every sample with no event in the last ``num_samples`` windows.

        A sample that started before the monitored window but had an event
        inside it is kept: it overlaps the window.
        """
        expire_age = self.num_samples * self.window_ms
        initial = self.initial_value
        for sample in self._samples:
            if now_ms - sample.last_event_ms >= expire_age:
                sample.reset(initial, now_ms)

    def oldest_start_ms(self, now_ms: int) -> int:
        """Start of the oldest sample (a first, empty sample starts at ``now_ms``)."""
        if not self._samples:
            self._samples.append(Sample(self.initial_value, now_ms))
        return min(sample.start_ms for sample in self._samples)

    def _current_sample(self, now_ms: int) -> Sample:
        if not self._samples:
            self._samples.append(Sample(self.initial_value, now_ms))
        return self._samples[self._current]

    def _advance(self, now_ms: int) -> Sample:
        self._current = (self._current + 1) % (self.num_samples + 1)
        if self._current >= len(self._samples):
            sample = Sample(self.initial_value, now_ms)
            self._samples.append(sample)
            return sample
        sample = self._samples[self._current]
        sample.reset(self.initial_value, now_ms)
        return sample

    def _update(self, sample: Sample, value: float) -> None:
        sample.value += value

    def _combine(self, now_ms: int) -> float:
        raise NotImplementedError


class WindowedSum(SampledStat):
    """Sum of the values recorded in the window (Kafka's WindowedSum)."""

    __slots__ = ()

    def _combine(self, now_ms: int) -> float:
        return sum(sample.value for sample in self._samples)


class Avg(SampledStat):
    """Average of the values recorded in the window (Kafka's Avg); NaN when empty."""

    __slots__ = ()

    def _combine(self, now_ms: int) -> float:
        count = sum(sample.event_count for sample in self._samples)
        if count == 0:
            return math.nan
        return sum(sample.value for sample in self._samples) / count


class Max(SampledStat):
    """Largest value recorded in the window (Kafka's Max); NaN when empty."""

    __slots__ = ()

    initial_value = -math.inf

    def _update(self, sample: Sample, value: float) -> None:
        if value > sample.value:
            sample.value = value

    def _combine(self, now_ms: int) -> float:
        if not any(sample.event_count for sample in self._samples):
            return math.nan
        return max(sample.value for sample in self._samples)


class Rate(WindowedSum):
    """Per-second rate of the values recorded in the window (Kafka's Rate over a WindowedSum).

    ``measure(now_ms)`` is ``sum / window_size_ms(now_ms) * 1000``.
    """

    __slots__ = ()

    def measure(self, now_ms: int) -> float:
        """The rate per second, after purging obsolete samples."""
        total, window_size_ms = self.sum_and_window_size_ms(now_ms)
        return total / window_size_ms * 1000.0

    def window_size_ms(self, now_ms: int) -> int:
        """The time the rate is computed over (Kafka's Rate.windowSize), after a purge."""
        return self.sum_and_window_size_ms(now_ms)[1]

    def measure_with_window_ms(self, now_ms: int) -> tuple[float, int]:
        """``(rate per second, window size in ms)`` in one pass: the quota check needs both."""
        total, window_size_ms = self.sum_and_window_size_ms(now_ms)
        return total / window_size_ms * 1000.0, window_size_ms

    def sum_and_window_size_ms(self, now_ms: int) -> tuple[float, int]:
        """Purge, then return the windowed sum and the window size in one loop (the hot path)."""
        if not self._samples:
            self._samples.append(Sample(0.0, now_ms))
        expire_age = self.num_samples * self.window_ms
        total = 0.0
        oldest_start = now_ms
        for sample in self._samples:
            if now_ms - sample.last_event_ms >= expire_age:
                sample.reset(0.0, now_ms)
            total += sample.value
            if sample.start_ms < oldest_start:
                oldest_start = sample.start_ms
        return total, self._window_size(now_ms - oldest_start)

    def _window_size(self, elapsed_ms: int) -> int:
        window_ms = self.window_ms
        full_windows = int(elapsed_ms / window_ms)
        min_full_windows = self.num_samples - 1
        if full_windows < min_full_windows:
            elapsed_ms += (min_full_windows - full_windows) * window_ms
        return max(elapsed_ms, 1)


class SimpleRate(Rate):
    """A Rate whose window is the elapsed time, at least one sample (Kafka's SimpleRate).

    Replication throttles use it: a follower that starts copying at full
    speed is measured over what really elapsed, not over ten empty windows.
    """

    __slots__ = ()

    def _window_size(self, elapsed_ms: int) -> int:
        return max(elapsed_ms, self.window_ms)


class TokenBucket:
    """Kafka's TokenBucket (KIP-599): ``quota`` tokens per second, ``burst`` at most.

    ``burst = quota * num_samples * window_ms / 1000``. Kafka starts a bucket
    empty at time 0, so its first refill (at a wall-clock time) fills it; this
    bucket starts full at its first use, which is the same thing without
    depending on what the caller's clock counts from.

    Args:
        quota_per_s: tokens added per second (the quota's bound).
        num_samples: ``controller.quota.window.num``.
        window_ms: ``controller.quota.window.size.seconds`` * 1000.
    """

    __slots__ = ("quota_per_s", "num_samples", "window_ms", "tokens", "last_update_ms")

    def __init__(self, quota_per_s: float, num_samples: int = DEFAULT_NUM_SAMPLES, window_ms: int = DEFAULT_WINDOW_MS):
        self.quota_per_s = float(quota_per_s)
        self.num_samples = num_samples
        self.window_ms = window_ms
        self.tokens = 0.0
        self.last_update_ms: int | None = None

    @property
    def burst(self) -> float:
        """The most tokens the bucket holds: ``quota * num_samples * window_s``."""
        return self.quota_per_s * self.num_samples * self.window_ms / 1000.0

    def set_quota(self, quota_per_s: float) -> None:
        """Change the rate; the tokens already in the bucket stay (capped at the new burst on refill)."""
        self.quota_per_s = float(quota_per_s)

    def measure(self, now_ms: int) -> float:
        """Refill, then return the tokens left (negative: the quota is violated)."""
        self._refill(now_ms)
        return self.tokens

    def record(self, value: float, now_ms: int) -> None:
        """Refill, then take ``value`` tokens (the count may go negative)."""
        self._refill(now_ms)
        self.tokens = min(self.burst, self.tokens - value)

    def throttle_time_ms(self, now_ms: int) -> int:
        """Time until the bucket is back at zero tokens; 0 when it is not negative."""
        tokens = self.measure(now_ms)
        if tokens >= 0:
            return 0
        if self.quota_per_s <= 0:
            return INT_MAX
        return min(java_round(-tokens / self.quota_per_s * 1000.0), INT_MAX)

    def _refill(self, now_ms: int) -> None:
        burst = self.burst
        if self.last_update_ms is None:
            self.tokens = burst
        else:
            self.tokens = min(burst, self.tokens + self.quota_per_s * (now_ms - self.last_update_ms) / 1000.0)
        self.last_update_ms = now_ms
