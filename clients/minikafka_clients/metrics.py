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

The statistics are the broker's own (``minikafka.quotas.sensor``), as Java's
clients and broker share ``org.apache.kafka.common.metrics``; only the
window differs: the clients' ``metrics.*`` settings above, which this
module passes (the sensor module's defaults are the broker's quota window).

``ThrottleTimeSensor`` is the one sensor the clients keep today: every
response's ``throttle_time_ms`` is recorded into an ``Avg`` and a ``Max``
(Java's ``produce-throttle-time`` and ``fetch-throttle-time`` sensors, fed by
``NetworkClient`` for every response it reads). The producer and the
consumer show it under Kafka's names in their ``metrics()`` view.

Sans-I/O: every call takes ``now_ms``.
"""

from __future__ import annotations

from minikafka.quotas.sensor import Avg, Max

DEFAULT_NUM_SAMPLES = 2           # metrics.num.samples
DEFAULT_SAMPLE_WINDOW_MS = 30_000  # metrics.sample.window.ms


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
