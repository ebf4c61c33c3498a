"""What a client knows about the cluster: brokers, topics, partition leaders.

A Kafka client starts from a few *bootstrap servers*: any broker will do. It
asks one of them for Metadata, which lists every broker (``node_id``, host,
port), the controller, and for each topic its id and partitions with their
``leader_id``, ``leader_epoch``, ``replica_nodes`` and ``isr_nodes``. From then
on the client talks to the **leader** of a partition to produce to it or fetch
from it, and refreshes metadata when a broker answers
``NOT_LEADER_OR_FOLLOWER`` or ``UNKNOWN_TOPIC_OR_PARTITION`` (leadership moved,
or the topic is new).

``Cluster`` owns one ``Connection`` per broker, opened on first use, all with
their reader tasks in the nursery the cluster lives in. It is the object that
the admin, produce and fetch helpers take as their first argument.
"""

from __future__ import annotations

import contextlib
import dataclasses

import trio

from minikafka.errors import ErrorCode, KafkaError

from .connection import Connection, KafkaConnectionError, connect

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

    Attributes:
        brokers: ``{node_id: (host, port)}`` from the last Metadata.
        topics: ``{name: TopicMetadata}`` for the topics asked about so far.
        controller_id: the node that handles admin requests, or -1.
        cluster_id: the cluster's id string, or None.
    """

    def __init__(self, nursery: trio.Nursery, bootstrap: list[tuple[str, int]], *,
                 client_id: str = "minikafka", request_timeout_ms: float = 30_000):
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.brokers: dict[int, tuple[str, int]] = {}
        self.topics: dict[str, TopicMetadata] = {}
        self.controller_id = -1
        self.cluster_id: str | None = None
        self._nursery = nursery
        self._connections: dict[tuple[str, int], Connection] = {}
        self._connect_lock = trio.Lock()
        self._topic_errors: dict[str, ErrorCode] = {}

    # -- connections --------------------------------------------------------

    async def connection_to_address(self, host: str, port: int) -> Connection:
        """The open connection to ``host:port``, connecting if needed."""
        async with self._connect_lock:
            connection = self._connections.get((host, port))
            if connection is None or connection.closed:
                connection = await connect(self._nursery, host, port, client_id=self.client_id,
                                           timeout_ms=self.request_timeout_ms)
                self._connections[(host, port)] = connection
            return connection

    async def connection_to(self, node_id: int) -> Connection:
        """The connection to broker ``node_id`` (as Metadata named it)."""
        if node_id not in self.brokers:
            await self.refresh_metadata()
        if node_id not in self.brokers:
            raise KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, f"no broker with id {node_id}")
        return await self.connection_to_address(*self.brokers[node_id])

    async def any_connection(self) -> Connection:
        """A connection to some broker: one already open, else a bootstrap server."""
        for connection in self._connections.values():
            if not connection.closed:
                return connection
        errors = []
        for address in list(self.brokers.values()) + self.bootstrap:
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
        """``connection.request(...)`` with the cluster's default timeout."""
        connection = connection or await self.any_connection()
        kwargs.setdefault("timeout_ms", self.request_timeout_ms)
        return await connection.request(api_key, body, **kwargs)

    # -- metadata -----------------------------------------------------------

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
        found = {}
        for topic in response.topics:
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
        """The metadata of one topic.

        Args:
            auto_create: see ``refresh_metadata``.

        Raises:
            KafkaError(UNKNOWN_TOPIC_OR_PARTITION): no such topic.
        """
        if refresh or name not in self.topics:
            await self.refresh_metadata([name], auto_create=auto_create)
        if name not in self.topics:
            code = self._topic_errors.get(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            detail = "does not exist" if code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION else "is not available"
            raise KafkaError(code, f"topic '{name}' {detail}")
        return self.topics[name]

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


@contextlib.asynccontextmanager
async def open_cluster(bootstrap_servers: str | list[str], *, client_id: str = "minikafka",
                       request_timeout_ms: float = 30_000):
    """Connect to the cluster and fetch the broker list; close everything on exit.

    Raises:
        KafkaConnectionError: no bootstrap server could be reached.
    """
    async with trio.open_nursery() as nursery:
        cluster = Cluster(nursery, parse_bootstrap(bootstrap_servers), client_id=client_id,
                          request_timeout_ms=request_timeout_ms)
        try:
            await cluster.refresh_metadata([])
            yield cluster
        finally:
            with trio.CancelScope(shield=True):
                await cluster.aclose()
            nursery.cancel_scope.cancel()
