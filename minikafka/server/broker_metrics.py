"""The broker's request, topic and log metrics, under Kafka's JMX names.

What it owns: the metric objects the request path records into, made once
and cached, so that recording a request or a partition costs a dictionary
lookup and a few ``mark``/``update`` calls, never a name built per request.
All of them live in the broker's ``minikafka.metrics.Registry``
(``broker.metrics``).

Request metrics (``kafka.network:type=RequestMetrics,request=<API>``), one
``RequestMetrics`` per API key, made the first time the API is used:

- ``RequestsPerSec`` (meter, tagged with the request ``version`` too: one
  meter per version, cached);
- ``TotalTimeMs``, ``RequestQueueTimeMs``, ``LocalTimeMs``, ``RemoteTimeMs``,
  ``ResponseSendTimeMs``, ``ThrottleTimeMs`` (histograms, milliseconds).

As Kafka, a Fetch is recorded twice: as ``request=Fetch`` and as
``request=FetchConsumer`` or ``request=FetchFollower`` (a replica's fetch).

Kafka's stages, mapped onto one task per connection (``Connection``):

==================  ====================================================
Kafka's stage       here
==================  ====================================================
request queue       from the moment the connection task has the complete
                    frame to the moment its handler starts: decoding the
                    header and body, and waiting for the broker to catch
                    up with the metadata at start-up. There is no queue
                    of requests between threads, so it is small.
local               the handler's time, less its remote time.
remote              the time the handler waited in a purgatory
                    (``replication.waiters.Purgatory``): a long-polling
                    fetch waiting for records, an acks=all produce
                    waiting for the in-sync replicas.
response queue      none: the task that ran the handler sends the answer
                    (not measured, so no ``ResponseQueueTimeMs``).
response send       encoding the response and writing it to the socket
                    (``send_all``, ``sendfile`` for zero copy).
throttle            the time the connection is muted after a throttled
                    response (KIP-219): the throttle time, in ms.
==================  ====================================================

``TotalTimeMs`` is frame in hand to response sent: queue + local + remote +
send, as Kafka's (the throttle mute comes after the response, as Kafka's
since KIP-219).

Topic metrics (``kafka.server:type=BrokerTopicMetrics``): ``BrokerTopicStats``
keeps one ``TopicMeters`` per topic (tag ``topic``) and one for all topics
(no tag). A produce marks, per partition, ``TotalProduceRequestsPerSec``,
``BytesInPerSec`` (the records' size) and ``MessagesInPerSec`` (records
appended), or ``FailedProduceRequestsPerSec``; a fetch marks
``TotalFetchRequestsPerSec`` and ``BytesOutPerSec`` (consumers only: Kafka
counts followers' bytes apart, as replication bytes) or
``FailedFetchRequestsPerSec``. As Kafka's ``ReplicaManager``, the errors
that only say "ask another broker" (unknown topic or partition or topic
id, not the leader) do not count as failed, and count in the all-topics
total only: a client asking for made-up topic names does not grow the
registry.
A topic's meters are removed when its last partition leaves the broker.

Log metrics (``kafka.log:type=Log,topic=,partition=``): gauges ``Size``
(bytes in the segments), ``LogEndOffset``, ``LogStartOffset`` and
``NumLogSegments``, registered when a partition is hosted and removed when
it goes (``register_log_gauges``, ``remove_log_gauges``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minikafka.metrics import MetricName
from minikafka.protocol import messages

if TYPE_CHECKING:
    from minikafka.metrics import Registry

NETWORK = "kafka.network"
SERVER = "kafka.server"
REQUEST_METRICS = "RequestMetrics"
TOPIC_METRICS = "BrokerTopicMetrics"
STAGES = ("TotalTimeMs", "RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs",
          "ResponseSendTimeMs", "ThrottleTimeMs")
_NS_PER_MS = 1_000_000


class RequestMetrics:
    """The request metrics of one API (Kafka's ``RequestMetrics``)."""

    def __init__(self, registry: Registry, name: str):
        self._registry = registry
        self.name = name
        tags = (("request", name),)
        (self.total_time_ms, self.request_queue_time_ms, self.local_time_ms, self.remote_time_ms,
         self.response_send_time_ms, self.throttle_time_ms) = (
            registry.histogram(MetricName(NETWORK, REQUEST_METRICS, stage, tags)) for stage in STAGES)
        self._requests_per_sec: dict[int, object] = {}  # version -> Meter

    def requests_per_sec(self, version: int):
        """The ``RequestsPerSec`` meter of one request version (made once)."""
        meter = self._requests_per_sec.get(version)
        if meter is None:
            tags = (("request", self.name), ("version", str(version)))
            meter = self._requests_per_sec[version] = self._registry.meter(
                MetricName(NETWORK, REQUEST_METRICS, "RequestsPerSec", tags))
        return meter

    def record(self, version: int, queue_ns: int, handler_ns: int, remote_ns: int, send_ns: int,
               throttle_ms: int) -> None:
        """Record one answered (or acks=0) request; times in ns, the throttle in ms."""
        remote_ns = min(remote_ns, handler_ns)
        self.requests_per_sec(version).mark()
        self.total_time_ms.update((queue_ns + handler_ns + send_ns) / _NS_PER_MS)
        self.request_queue_time_ms.update(queue_ns / _NS_PER_MS)
        self.local_time_ms.update((handler_ns - remote_ns) / _NS_PER_MS)
        self.remote_time_ms.update(remote_ns / _NS_PER_MS)
        self.response_send_time_ms.update(send_ns / _NS_PER_MS)
        self.throttle_time_ms.update(throttle_ms)


FETCH_CONSUMER, FETCH_FOLLOWER = "FetchConsumer", "FetchFollower"  # Kafka's extra Fetch request names


class RequestMetricsTable:
    """``RequestMetrics`` per API key (and Kafka's two Fetch names), made the first time one is used."""

    def __init__(self, registry: Registry):
        self._registry = registry
        self._by_name: dict[int | str, RequestMetrics] = {}

    def of(self, api_key: int) -> RequestMetrics:
        """The metrics of an API (``request=`` its Kafka name)."""
        metrics = self._by_name.get(api_key)
        if metrics is None:
            name = messages.API_NAMES.get(api_key, str(api_key))
            metrics = self._by_name[api_key] = RequestMetrics(self._registry, name)
        return metrics

    def named(self, name: str) -> RequestMetrics:
        """The metrics of a request name that is not an API's (``FetchConsumer``, ``FetchFollower``)."""
        metrics = self._by_name.get(name)
        if metrics is None:
            metrics = self._by_name[name] = RequestMetrics(self._registry, name)
        return metrics


class TopicMeters:
    """The ``BrokerTopicMetrics`` meters of one topic (or of all topics: ``topic`` None)."""

    NAMES = ("BytesInPerSec", "BytesOutPerSec", "MessagesInPerSec", "TotalProduceRequestsPerSec",
             "TotalFetchRequestsPerSec", "FailedProduceRequestsPerSec", "FailedFetchRequestsPerSec")

    def __init__(self, registry: Registry, topic: str | None):
        tags = () if topic is None else (("topic", topic),)
        self.metric_names = [MetricName(SERVER, TOPIC_METRICS, name, tags) for name in self.NAMES]
        (self.bytes_in, self.bytes_out, self.messages_in, self.total_produce, self.total_fetch,
         self.failed_produce, self.failed_fetch) = (registry.meter(name) for name in self.metric_names)


# Errors that only send the client elsewhere: not a failed request (Kafka's ReplicaManager).
ROUTING_ERRORS = frozenset({3, 6, 100})  # UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID


class BrokerTopicStats:
    """Per-topic and all-topics ``BrokerTopicMetrics`` (Kafka's ``BrokerTopicStats``).

    Handlers reach it as ``services.topic_stats`` and record one
    partition at a time with the ``produced``/``fetched``/``failed_*`` calls.
    """

    def __init__(self, registry: Registry):
        self._registry = registry
        self.all_topics = TopicMeters(registry, None)
        self._topics: dict[str, TopicMeters] = {}

    def topic(self, name: str) -> TopicMeters:
        """The meters of one topic (made once)."""
        meters = self._topics.get(name)
        if meters is None:
            meters = self._topics[name] = TopicMeters(self._registry, name)
        return meters

    def produced(self, topic: str, size: int, records: int) -> None:
        """A partition of a Produce request was appended: ``size`` bytes, ``records`` records."""
        for meters in (self.topic(topic), self.all_topics):
            meters.total_produce.mark()
            meters.bytes_in.mark(size)
            meters.messages_in.mark(records)

    def produce_failed(self, topic: str | None, error_code: int) -> None:
        """A partition of a Produce request was refused with ``error_code``."""
        self._failed(topic, error_code, "total_produce", "failed_produce")

    def fetched(self, topic: str, size: int, consumer: bool) -> None:
        """A partition of a Fetch was read: ``size`` bytes (BytesOut counts consumers only)."""
        for meters in (self.topic(topic), self.all_topics):
            meters.total_fetch.mark()
            if consumer:
                meters.bytes_out.mark(size)

    def fetch_failed(self, topic: str | None, error_code: int) -> None:
        """A partition of a Fetch was answered with ``error_code``."""
        self._failed(topic, error_code, "total_fetch", "failed_fetch")

    def _failed(self, topic: str | None, error_code: int, total: str, failed: str) -> None:
        """A routing error counts in the all-topics total only; others fail in the topic's meters too."""
        if error_code in ROUTING_ERRORS or topic is None:
            getattr(self.all_topics, total).mark()
            return
        for meters in (self.topic(topic), self.all_topics):
            getattr(meters, total).mark()
            getattr(meters, failed).mark()

    def remove_topic(self, name: str) -> None:
        """Forget a topic's meters (its last partition left this broker)."""
        meters = self._topics.pop(name, None)
        if meters is not None:
            for metric_name in meters.metric_names:
                self._registry.remove(metric_name)


LOG = "kafka.log"


def log_metric_names(topic: str, index: int) -> list[MetricName]:
    tags = (("topic", topic), ("partition", str(index)))
    return [MetricName(LOG, "Log", name, tags) for name in ("Size", "LogEndOffset", "LogStartOffset",
                                                            "NumLogSegments")]


def register_log_gauges(registry: Registry, partition) -> None:
    """The ``kafka.log:type=Log`` gauges of a hosted partition (read at scrape time)."""
    size, end, start, segments = log_metric_names(partition.topic, partition.index)
    local_log = partition.log.local_log
    registry.gauge(size, lambda: local_log.size_in_bytes)
    registry.gauge(end, lambda: partition.log_end_offset)
    registry.gauge(start, lambda: partition.log_start_offset)
    registry.gauge(segments, lambda: len(local_log.segments))


def remove_log_gauges(registry: Registry, topic: str, index: int) -> None:
    """Remove a partition's ``kafka.log:type=Log`` gauges (it left the broker)."""
    for name in log_metric_names(topic, index):
        registry.remove(name)


def register_broker_gauges(registry: Registry, idle_window, produce_purgatory, fetch_purgatory) -> None:
    """The idle fractions and the purgatory sizes (see ``server.idle``, ``replication.waiters``)."""
    registry.gauge(MetricName(SERVER, "KafkaRequestHandlerPool", "RequestHandlerAvgIdlePercent"),
                   idle_window.fraction)
    registry.gauge(MetricName(NETWORK, "SocketServer", "NetworkProcessorAvgIdlePercent"),
                   idle_window.fraction)
    for operation, purgatory in (("Produce", produce_purgatory), ("Fetch", fetch_purgatory)):
        registry.gauge(MetricName(SERVER, "DelayedOperationPurgatory", "PurgatorySize",
                                  (("delayedOperation", operation),)), lambda p=purgatory: p.size)
