"""The clients' few metrics, measured as Kafka's client metrics are (sampled windows).

Kafka's clients keep most metrics as a *sampled stat*: values are recorded
into a ring of samples, each covering ``metrics.sample.window.ms`` (default
30 s); ``metrics.num.samples`` (default 2) of them make the measured window.
A measurement first resets every sample whose last event is older than
``num_samples * window_ms`` (it no longer overlaps the window), then
combines what is left:

- ``Avg``: the sum of the values over the number of events;
- ``Max``: the largest value.

Both are NaN when no event is left in the window (Java's ``Avg`` and
``Max``). A sample is *complete* once it is ``window_ms`` old; the next
record starts the next sample in the ring (one extra slot is kept for the
sample that overlaps the window's start, as Java's ``SampledStat`` does).

``ThrottleTimeSensor`` is the one sensor the clients keep today: every
response's ``throttle_time_ms`` is recorded into an ``Avg`` and a ``Max``
(Java's ``produce-throttle-time`` and ``fetch-throttle-time`` sensors, fed by
``NetworkClient`` for every response it reads). The producer and the
consumer show it under Kafka's names in their ``metrics()`` view.

Sans-I/O: every call takes ``now_ms``.
"""

from __future__ import annotations

import math

DEFAULT_NUM_SAMPLES = 2           # metrics.num.samples
DEFAULT_SAMPLE_WINDOW_MS = 30_000  # metrics.sample.window.ms


class _Sample:
    __slots__ = ("value", "event_count", "start_ms", "last_event_ms")

    def __init__(self, initial: float, now_ms: float):
        self.reset(initial, now_ms)

    def reset(self, initial: float, now_ms: float) -> None:
        self.value = initial
        self.event_count = 0
        self.start_ms = now_ms
        self.last_event_ms = now_ms


class SampledStat:
    """A ring of samples (Java's ``SampledStat``); subclasses say how to update and combine.

    Args:
        num_samples: ``metrics.num.samples``.
        window_ms: ``metrics.sample.window.ms``.
    """

    initial = 0.0

    def __init__(self, num_samples: int = DEFAULT_NUM_SAMPLES,
                 window_ms: float = DEFAULT_SAMPLE_WINDOW_MS):
        self.num_samples = num_samples
        self.window_ms = window_ms
        self._samples: list[_Sample] = []
        self._current = 0

    def record(self, value: float, now_ms: float) -> None:
        """Add one event of ``value`` at ``now_ms``."""
        sample = self._current_sample(now_ms)
        if now_ms - sample.start_ms >= self.window_ms:
            sample = self._advance(now_ms)
        self.update(sample, value)
        sample.event_count += 1
        sample.last_event_ms = now_ms

    def measure(self, now_ms: float) -> float:
        """The stat over the samples still in the window (NaN if none has an event)."""
        expire_ms = self.num_samples * self.window_ms
        for sample in self._samples:
            if now_ms - sample.last_event_ms >= expire_ms:
                sample.reset(self.initial, now_ms)
        return self.combine(self._samples)

    def update(self, sample: _Sample, value: float) -> None:
        raise NotImplementedError

    def combine(self, samples: list[_Sample]) -> float:
        raise NotImplementedError

    def _current_sample(self, now_ms: float) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(self.initial, now_ms))
        return self._samples[self._current]

    def _advance(self, now_ms: float) -> _Sample:
        self._current = (self._current + 1) % (self.num_samples + 1)
        if self._current >= len(self._samples):
            self._samples.append(_Sample(self.initial, now_ms))
        else:
            self._samples[self._current].reset(self.initial, now_ms)
        return self._samples[self._current]


class Avg(SampledStat):
    """The mean of the values recorded in the window."""

    def update(self, sample: _Sample, value: float) -> None:
        sample.value += value

    def combine(self, samples: list[_Sample]) -> float:
        count = sum(s.event_count for s in samples)
        return sum(s.value for s in samples) / count if count else math.nan


class Max(SampledStat):
    """The largest value recorded in the window."""

    initial = -math.inf

    def update(self, sample: _Sample, value: float) -> None:
        sample.value = max(sample.value, value)

    def combine(self, samples: list[_Sample]) -> float:
        if not any(s.event_count for s in samples):
            return math.nan
        return max(s.value for s in samples)


class ThrottleTimeSensor:
    """The throttle time of every response a client read: its average and maximum.

    Owned by one ``Cluster`` (Java's ``NetworkClient`` throttle-time sensor);
    recorded by its connections' reader tasks.
    """

    def __init__(self, num_samples: int = DEFAULT_NUM_SAMPLES,
                 window_ms: float = DEFAULT_SAMPLE_WINDOW_MS):
        self.avg = Avg(num_samples, window_ms)
        self.max = Max(num_samples, window_ms)

    def record(self, throttle_time_ms: float, now_ms: float) -> None:
        """Record one response's ``throttle_time_ms`` (0 included, as Kafka does)."""
        self.avg.record(throttle_time_ms, now_ms)
        self.max.record(throttle_time_ms, now_ms)

    def metrics(self, prefix: str, now_ms: float) -> dict[str, float]:
        """``{prefix-throttle-time-avg: ..., prefix-throttle-time-max: ...}``."""
        return {f"{prefix}-throttle-time-avg": self.avg.measure(now_ms),
                f"{prefix}-throttle-time-max": self.max.measure(now_ms)}
