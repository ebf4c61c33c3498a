"""What a client knows about the cluster: brokers, topics, partition leaders.

A Kafka client starts from a few *bootstrap servers*: any broker will do. It
asks one of them for Metadata, which lists every broker (``node_id``, host,
port), the controller, and for each topic its id and partitions with their
``leader_id``, ``leader_epoch``, ``replica_nodes`` and ``isr_nodes``. From then
on the client talks to the **leader** of a partition to produce to it or fetch
from it, and refreshes metadata when a broker answers
``NOT_LEADER_OR_FOLLOWER`` or ``UNKNOWN_TOPIC_OR_PARTITION`` (leadership moved,
or the topic is new).

``Cluster`` owns one ``Connection`` per broker, opened on first use (and
opened again after it broke: a restarted broker is simply reconnected), all
with their reader tasks in the nursery the cluster lives in. It is the object
that the admin, produce and fetch helpers take as their first argument.

Metadata is refreshed when it is older than ``metadata.max.age.ms`` (checked
on use), and at once after an error that says it is stale. ``Cluster.retry``
is the one retry loop (KIP-580 backoff, Kafka's table of retriable errors:
``retry.py``) that the clients wrap their calls in. ``open_cluster`` reads the
connection settings from a Kafka-style config dict (``CONNECTION_CONFIG``).

Quotas (KIP-219): the cluster keeps one ``NodeThrottle`` per broker address
(``throttle.py``), shared by every connection to that address, old and new,
and one ``ThrottleTimeSensor`` (``metrics.py``) that records the
``throttle_time_ms`` of every response, as Java's ``NetworkClient`` does; the
producer and the consumer show it as their ``produce-`` and
``fetch-throttle-time-avg/max``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import trio

from minikafka.errors import ErrorCode, KafkaError

from .connection import Connection, KafkaConnectionError, connect
from .metrics import DEFAULT_NUM_SAMPLES, DEFAULT_SAMPLE_WINDOW_MS, ThrottleTimeSensor
from .retry import RETRIABLE, ExponentialBackoff, error_code_of, needs_metadata_refresh
from .throttle import NodeThrottle

T = TypeVar("T")

METADATA_KEY = 3


@dataclasses.dataclass(frozen=True)
class PartitionMetadata:
    """One partition as Metadata describes it."""

    partition: int
    leader_id: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    error_code: int = 0


@dataclasses.dataclass(frozen=True)
class TopicMetadata:
    """One topic as Metadata describes it; ``partitions`` is indexed by number."""

    name: str
    topic_id: bytes
    is_internal: bool
    partitions: dict[int, PartitionMetadata]


def parse_bootstrap(servers: str | list[str]) -> list[tuple[str, int]]:
    """``"h1:9092,h2:9093"`` (or a list of ``host:port``) to ``[(host, port)]``."""
    items = servers.split(",") if isinstance(servers, str) else servers
    addresses = []
    for item in (i.strip() for i in items if i.strip()):
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"bootstrap server {item!r} is not HOST:PORT")
        addresses.append((host.strip("[]") or "localhost", int(port)))
    if not addresses:
        raise ValueError("no bootstrap servers given")
    return addresses


class Cluster:
    """The client's metadata cache and its connections, one per broker.

    Owned by one Trio run; task-safe within it. Build one with
    ``open_cluster()``.

    Metadata ages: a topic's entry is asked for again once it is older than
    ``metadata.max.age.ms``, or at once after ``invalidate()`` (a broker
    answered with a stale-metadata error, or a connection broke).

    Attributes:
        brokers: ``{node_id: (host, port)}`` from the last Metadata.
        topics: ``{name: TopicMetadata}`` for the topics asked about so far.
        controller_id: the node that handles admin requests, or -1.
        cluster_id: the cluster's id string, or None.
        backoff: the ``ExponentialBackoff`` between retries.
        throttle_time_sensor: every response's ``throttle_time_ms`` (avg, max).
    """

    def __init__(self, nursery: trio.Nursery, bootstrap: list[tuple[str, int]], *,
                 client_id: str = "minikafka", request_timeout_ms: float = 30_000,
                 connection_setup_timeout_ms: float = 10_000,
                 metadata_max_age_ms: float = 300_000, default_api_timeout_ms: float = 60_000,
                 retry_backoff_ms: float = 100, retry_backoff_max_ms: float = 1_000,
                 metrics_num_samples: int = DEFAULT_NUM_SAMPLES,
                 metrics_sample_window_ms: float = DEFAULT_SAMPLE_WINDOW_MS,
                 random=None):
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.connection_setup_timeout_ms = connection_setup_timeout_ms
        self.metadata_max_age_ms = metadata_max_age_ms
        self.default_api_timeout_ms = default_api_timeout_ms
        self.backoff = ExponentialBackoff(retry_backoff_ms, retry_backoff_max_ms, random=random)
        self.brokers: dict[int, tuple[str, int]] = {}
        self.topics: dict[str, TopicMetadata] = {}
        self.controller_id = -1
        self.cluster_id: str | None = None
        self.throttle_time_sensor = ThrottleTimeSensor(metrics_num_samples, metrics_sample_window_ms)
        self._throttles: dict[tuple[str, int], NodeThrottle] = collections.defaultdict(NodeThrottle)
        self._nursery = nursery
        self._connections: dict[tuple[str, int], Connection] = {}
        # One lock per address: a slow connect to one broker must not hold up the others.
        self._connect_locks: dict[tuple[str, int], trio.Lock] = collections.defaultdict(trio.Lock)
        self._topic_errors: dict[str, ErrorCode] = {}
        self._topic_fetched_at: dict[str, float] = {}  # trio.current_time() of the answer

    @classmethod
    def from_config(cls, nursery: trio.Nursery, config: Mapping[str, object], **kwargs) -> "Cluster":
        """A Cluster from a Kafka-style config dict (``bootstrap.servers``, ...)."""
        options = connection_options(config)
        return cls(nursery, parse_bootstrap(options.pop("bootstrap_servers")), **options, **kwargs)

    # -- connections --------------------------------------------------------

    async def connection_to_address(self, host: str, port: int) -> Connection:
        """The open connection to ``host:port``, connecting (again) if needed."""
        connection = self._connections.get((host, port))
        if connection is not None and not connection.closed:
            return connection  # the usual case, once per request: no lock to take
        async with self._connect_locks[(host, port)]:
            connection = self._connections.get((host, port))
            if connection is None or connection.closed:
                connection = await connect(
                    self._nursery, host, port, client_id=self.client_id,
                    timeout_ms=self.request_timeout_ms,
                    setup_timeout_ms=self.connection_setup_timeout_ms,
                    throttle=self._throttles[(host, port)],
                    on_throttle_time=self.throttle_time_sensor.record)
                self._connections[(host, port)] = connection
            return connection

    def throttle_delay_ms(self, node_id: int, now_ms: float) -> float:
        """How long broker ``node_id`` must not be sent requests (0: not throttled).

        ``now_ms`` is Trio's clock in ms. Java's ``NetworkClient.pollDelayMs``
        for a connected node.
        """
        address = self.brokers.get(node_id)
        throttle = self._throttles.get(address) if address is not None else None
        return throttle.delay_ms(now_ms) if throttle is not None else 0.0

    async def connection_to(self, node_id: int) -> Connection:
        """The connection to broker ``node_id`` (as Metadata named it)."""
        if node_id not in self.brokers:
            await self.refresh_metadata([])
        if node_id not in self.brokers:
            raise KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, f"no broker with id {node_id}")
        return await self.connection_to_address(*self.brokers[node_id])

    async def any_connection(self) -> Connection:
        """A connection to some broker: one already open, else each known broker
        and bootstrap server in turn, until one answers."""
        for connection in self._connections.values():
            if not connection.closed:
                return connection
        errors = []
        for address in dict.fromkeys(list(self.brokers.values()) + self.bootstrap):
            try:
                return await self.connection_to_address(*address)
            except KafkaConnectionError as exc:
                errors.append(str(exc))
        raise KafkaConnectionError("; ".join(dict.fromkeys(errors)))

    async def controller_connection(self) -> Connection:
        """Where admin requests go. A KRaft broker forwards them to the controller."""
        if self.controller_id in self.brokers:
            return await self.connection_to(self.controller_id)
        return await self.any_connection()

    async def request(self, connection: Connection | None, api_key: int, body: dict, **kwargs):
        """``connection.request(...)`` with the cluster's default timeout.

        ``connection`` None means any broker. A broken connection marks the
        metadata stale: the broker may be gone, or restarting.
        """
        connection = connection or await self.any_connection()
        kwargs.setdefault("timeout_ms", self.request_timeout_ms)
        try:
            return await connection.request(api_key, body, **kwargs)
        except KafkaConnectionError:
            self.invalidate()
            raise

    # -- retries --------------------------------------------------------------

    async def retry(self, operation: Callable[[], Awaitable[T]], *,
                    retriable: frozenset = RETRIABLE, timeout_ms: float | None = None) -> T:
        """``await operation()`` until it succeeds, retrying retriable failures.

        A failure is retriable when it is a broken or timed-out connection, or
        a ``KafkaError`` whose code is in ``retriable``. Before each retry the
        client waits ``backoff`` (KIP-580) and, for stale-metadata errors,
        forgets its metadata so that ``operation`` finds the new leader.

        Args:
            operation: an async function of no arguments; it should raise
                ``KafkaError`` for an error code (``admin.check`` does).
            retriable: the codes worth retrying (``retry.ADMIN_RETRIABLE``
                for admin calls).
            timeout_ms: give up after this long (``default.api.timeout.ms``);
                the last error is raised.
        """
        timeout_ms = self.default_api_timeout_ms if timeout_ms is None else timeout_ms
        deadline = trio.current_time() + timeout_ms / 1000
        for attempts in itertools.count():
            try:
                return await operation()
            except (KafkaError, KafkaConnectionError) as exc:
                code = error_code_of(exc)
                if code is not None and code not in retriable:
                    raise
                wait_s = self.backoff.backoff_ms(attempts) / 1000
                if trio.current_time() + wait_s >= deadline:
                    raise
                if code is None or needs_metadata_refresh(code):
                    self.invalidate()
                await trio.sleep(wait_s)

    # -- metadata -----------------------------------------------------------

    def invalidate(self) -> None:
        """Forget how old the metadata is, so the next lookup asks again."""
        self._topic_fetched_at.clear()

    def _is_fresh(self, name: str) -> bool:
        fetched_at = self._topic_fetched_at.get(name)
        return fetched_at is not None and (
            trio.current_time() - fetched_at) * 1000 < self.metadata_max_age_ms

    async def refresh_metadata(self, topics: list[str] | None = None, *,
                               auto_create: bool = False) -> dict[str, TopicMetadata]:
        """Ask a broker for Metadata; update brokers and the named topics.

        Args:
            topics: the topics to describe; None for every topic.
            auto_create: let the broker create missing topics (if its
                ``auto.create.topics.enable`` allows), as Kafka's producers
                and consumers ask by default; admin tools do not.

        Returns:
            The topics in the response that exist, by name. Topics that do not
            exist are dropped from the cache.
        """
        body = {
            "topics": None if topics is None else [{"name": name} for name in topics],
            "allow_auto_topic_creation": auto_create,
            "include_topic_authorized_operations": False,
        }
        response = await self.request(None, METADATA_KEY, body)
        self.brokers = {b.node_id: (b.host, b.port) for b in response.brokers}
        self.controller_id = response.controller_id
        self.cluster_id = response.cluster_id
        now = trio.current_time()
        found = {}
        for topic in response.topics:
            self._topic_fetched_at[topic.name] = now
            if topic.error_code != ErrorCode.NONE:
                # Unknown, or not ready yet (LEADER_NOT_AVAILABLE right after creation).
                self.topics.pop(topic.name, None)
                self._topic_errors[topic.name] = ErrorCode(topic.error_code)
                continue
            self._topic_errors.pop(topic.name, None)
            found[topic.name] = self.topics[topic.name] = _topic_metadata(topic)
        return found

    async def topic(self, name: str, *, refresh: bool = False,
                    auto_create: bool = False) -> TopicMetadata:
        """The metadata of one topic, asked for again if missing, stale or old.

        Args:
            auto_create: see ``refresh_metadata``.

        Raises:
            KafkaError(UNKNOWN_TOPIC_OR_PARTITION): no such topic.
        """
        if refresh or name not in self.topics or not self._is_fresh(name):
            await self.refresh_metadata([name], auto_create=auto_create)
        if name not in self.topics:
            code = self._topic_errors.get(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            detail = "does not exist" if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION else "is not available"
            raise KafkaError(code, f"topic '{name}' {detail}")
        return self.topics[name]

    def topic_error(self, name: str) -> ErrorCode | None:
        """The error the last Metadata gave for topic ``name``, or None."""
        return self._topic_errors.get(name)

    async def leader_for(self, topic: str, partition: int, *, refresh: bool = False) -> int:
        """The node id of the partition's leader.

        Raises:
            KafkaError: no such partition, or it has no leader right now.
        """
        metadata = await self.topic(topic, refresh=refresh)
        if partition not in metadata.partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{topic}' has no partition {partition}")
        leader_id = metadata.partitions[partition].leader_id
        if leader_id < 0:
            raise KafkaError(ErrorCode.LEADER_NOT_AVAILABLE,
                             f"partition {topic}-{partition} has no leader")
        return leader_id

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in self._connections.values():
            await connection.aclose()
        self._connections.clear()


def _topic_metadata(topic) -> TopicMetadata:
    partitions = {
        p.partition_index: PartitionMetadata(
            partition=p.partition_index,
            leader_id=p.leader_id,
            leader_epoch=p.leader_epoch,
            replicas=tuple(p.replica_nodes),
            isr=tuple(p.isr_nodes),
            error_code=p.error_code,
        )
        for p in topic.partitions
    }
    return TopicMetadata(topic.name, bytes(topic.topic_id), bool(topic.is_internal), partitions)


# Kafka's names for the connection settings, their defaults, and Cluster's arguments.
CONNECTION_CONFIG = {
    "bootstrap.servers": ("bootstrap_servers", None),
    "client.id": ("client_id", "minikafka"),
    "request.timeout.ms": ("request_timeout_ms", 30_000),
    "socket.connection.setup.timeout.ms": ("connection_setup_timeout_ms", 10_000),
    "metadata.max.age.ms": ("metadata_max_age_ms", 300_000),
    "default.api.timeout.ms": ("default_api_timeout_ms", 60_000),
    "retry.backoff.ms": ("retry_backoff_ms", 100),
    "retry.backoff.max.ms": ("retry_backoff_max_ms", 1_000),
    "metrics.num.samples": ("metrics_num_samples", DEFAULT_NUM_SAMPLES),
    "metrics.sample.window.ms": ("metrics_sample_window_ms", DEFAULT_SAMPLE_WINDOW_MS),
}


def connection_options(config: Mapping[str, object]) -> dict:
    """The connection settings of a Kafka-style config dict, as Cluster arguments.

    Keys the connection layer does not know (``acks``, ``group.id``, ...) are
    left to the producer, consumer or admin that owns them. Numbers may be
    given as strings, as in a ``.properties`` file.

    Raises:
        ValueError: ``bootstrap.servers`` is missing.
    """
    options = {}
    for key, (argument, default) in CONNECTION_CONFIG.items():
        value = config.get(key, default)
        options[argument] = value if isinstance(default, str) or default is None else int(value)
    if not options["bootstrap_servers"]:
        raise ValueError("bootstrap.servers is required")
    return options


@contextlib.asynccontextmanager
async def open_cluster(bootstrap_servers: str | list[str] | None = None, *,
                       config: Mapping[str, object] | None = None, **options):
    """Connect to the cluster and fetch the broker list; close everything on exit.

    Args:
        bootstrap_servers: ``"host:port,host:port"``; or give ``config``.
        config: a Kafka-style config dict (``bootstrap.servers``, ``client.id``,
            ``request.timeout.ms``, ``retry.backoff.ms``, ...).
        options: Cluster arguments (``client_id=``, ``request_timeout_ms=``, ...),
            overriding ``config``.

    Raises:
        KafkaConnectionError: no bootstrap server could be reached.
    """
    config = dict(config or {})
    if bootstrap_servers is not None:
        config["bootstrap.servers"] = bootstrap_servers
    settings = connection_options(config)
    settings.update(options)
    bootstrap = parse_bootstrap(settings.pop("bootstrap_servers"))
    # An error (ours at bootstrap, or the caller's in the block) is raised
    # outside the nursery, so the caller sees it as it is, not wrapped in an
    # ExceptionGroup by the nursery that runs the connections' reader tasks.
    error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        cluster = Cluster(nursery, bootstrap, **settings)
        try:
            # No retry here: a wrong address should fail at once, not after a minute.
            await cluster.refresh_metadata([])
            yield cluster
        except BaseException as exc:
            error = exc
        finally:
            with trio.CancelScope(shield=True):
                await cluster.aclose()
            nursery.cancel_scope.cancel()
    if error is not None:
        raise error
