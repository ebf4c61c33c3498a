"""The transaction marker channel: WriteTxnMarkers to partition leaders.

Kafka's ``TransactionMarkerChannelManager``.

When a transaction's PrepareCommit (or PrepareAbort) record is in the
transaction log, the transaction coordinator must put a COMMIT (or ABORT)
control batch, a *marker*, into every partition the transaction wrote to.
Those partitions are led by brokers anywhere in the cluster (this one
included), so the coordinator sends them WriteTxnMarkers (key 27), one
request per leader holding all of that transaction's partitions there:

    {markers: [{producer_id, producer_epoch, transaction_result (True=COMMIT),
                coordinator_epoch, topics: [{name, partition_indexes}]}]}

``write_markers`` keeps going until each partition has answered NONE (or
answered that it cannot hold a marker, which Kafka also accepts). In Kafka's
terms (``TransactionMarkerRequestCompletionHandler``):

- retried: NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
  NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR,
  a partition without a leader, a broken connection: after
  ``RETRY_BACKOFF_S`` the partitions are grouped again by their *current*
  leader (the metadata image may have moved them);
- done: NONE, UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_VERSION, and a
  partition whose topic is gone from the metadata (deleted: nothing to mark);
- given up: INVALID_PRODUCER_EPOCH and TRANSACTION_COORDINATOR_FENCED (a
  newer producer or coordinator owns the transaction now), or ``is_current``
  turning False (this broker no longer coordinates the transaction: the new
  coordinator re-sends the markers when it loads the log).

When ``write_markers`` returns True the runtime tells the coordinator
(``markers_written``), which writes CompleteCommit/CompleteAbort.

Markers for this broker's own partitions travel the same way, through this
broker's own listener: one path for every leader, as Kafka's channel does.
Connections come from ``BrokerClient``: a small pool per destination, so
that concurrent transactions (and the verifier) do not queue behind each
other; a connection that fails is closed, and the next request dials again.

Owned by the broker, used by the transaction coordinator runtime; runs in
the broker's Trio loop.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode
from minikafka.metadata.image import MetadataImage
from minikafka.protocol.codec import DecodeError
from minikafka.rpc.client import exchange

log = logging.getLogger("minikafka.coordinator.transaction.markers")

WRITE_TXN_MARKERS_KEY, WRITE_TXN_MARKERS_VERSION = 27, 1
RETRY_BACKOFF_S = 0.1  # Kafka's retry.backoff.ms default
CONNECT_TIMEOUT_S = 5.0
MAX_IDLE_CONNECTIONS = 4  # per destination; a burst may open more, the extra ones are closed after use
# Shorter than Kafka's request.timeout.ms (30 s): a paused or cut-off leader
# holds a transaction in PrepareCommit only this long before the markers are
# sent again to whoever leads then. A marker written twice is harmless: the
# second finds no ongoing transaction of that producer.
REQUEST_TIMEOUT_S = 10.0
NETWORK_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError,
                  DecodeError, ValueError)

_RETRIABLE = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode.REQUEST_TIMED_OUT, ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.NETWORK_EXCEPTION,  # ours: the request did not get an answer
})
_DONE = frozenset({ErrorCode.NONE, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, ErrorCode.UNSUPPORTED_VERSION})
_FENCED = frozenset({ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTION_COORDINATOR_FENCED})

TopicPartition = tuple[str, int]


class BrokerUnreachable(Exception):
    """A request to another broker got no answer (no endpoint, connection or decoding error)."""


class BrokerClient:
    """Requests to other brokers (and to this one, through its own listener).

    Each destination has a pool of idle connections (at most
    ``MAX_IDLE_CONNECTIONS`` kept); a request takes one (or dials a new one)
    and gives it back after a good answer. Any error closes that connection.
    Owned by one user (the marker channel, the verifier).

    Args:
        node_id: this broker (the client id says who asks).
        config: ``inter.broker.listener.name`` and ``controller.listener.names``.
        image: returns the committed ``MetadataImage`` (where brokers listen).
        open_stream: ``open_stream(host, port)``, the broker's network seam.
        client_id: the client id of the requests.
    """

    def __init__(self, *, node_id: int, config: BrokerConfig, image: Callable[[], MetadataImage],
                 open_stream: Callable[[str, int], Awaitable[trio.abc.Stream]], client_id: str):
        self.node_id = node_id
        self.config = config
        self.image = image
        self.open_stream = open_stream
        self.client_id = client_id
        self._idle: dict[int, list[trio.abc.Stream]] = {}
        self._correlation_id = 0

    async def call(self, destination: int, api_key: int, version: int, body: dict,
                   timeout_s: float = REQUEST_TIMEOUT_S):
        """Send one request to broker ``destination``; return the decoded response body.

        Raises:
            BrokerUnreachable: no endpoint, or the exchange failed or timed out.
        """
        try:
            with trio.fail_after(timeout_s):
                stream = await self._take(destination)
                self._correlation_id += 1
                try:
                    response = await exchange(stream, api_key, version, self._correlation_id,
                                              self.client_id, body)
                except BaseException:
                    await trio.aclose_forcefully(stream)
                    raise
        except NETWORK_ERRORS as exc:
            raise BrokerUnreachable(f"broker {destination}: {exc!r}") from None
        idle = self._idle.setdefault(destination, [])
        if len(idle) < MAX_IDLE_CONNECTIONS:
            idle.append(stream)
        else:
            await trio.aclose_forcefully(stream)
        return response

    async def _take(self, destination: int) -> trio.abc.Stream:
        idle = self._idle.get(destination)
        if idle:
            return idle.pop()
        host, port = self._address(destination)
        with trio.fail_after(CONNECT_TIMEOUT_S):
            return await self.open_stream(host, port)

    def _address(self, destination: int) -> tuple[str, int]:
        """The broker's inter-broker endpoint, from its registration in the image."""
        registration = self.image().brokers.get(destination)
        if registration is None or not registration.end_points:
            raise OSError(f"broker {destination} has no registered endpoint")
        wanted = self.config["inter.broker.listener.name"]
        controller_names = set(self.config["controller.listener.names"] or ())
        for endpoint in registration.end_points:
            if endpoint.name == wanted or (wanted is None and endpoint.name not in controller_names):
                return endpoint.host, endpoint.port
        raise OSError(f"broker {destination} has no listener {wanted!r}")

    async def aclose(self) -> None:
        """Close every idle connection."""
        for streams in self._idle.values():
            for stream in streams:
                await trio.aclose_forcefully(stream)
        self._idle.clear()


class TransactionMarkerChannel:
    """Writes transaction markers to the leaders of a transaction's partitions.

    Args:
        client: the ``BrokerClient`` requests go through.
        image: returns the committed ``MetadataImage`` (who leads what).
    """

    def __init__(self, client: BrokerClient, image: Callable[[], MetadataImage]):
        self.client = client
        self.image = image

    async def write_markers(self, marker, is_current: Callable[[], bool]) -> bool:
        """Write ``marker``'s COMMIT/ABORT into each of its partitions, retrying until done.

        Args:
            marker: a ``MarkerRequest`` (transactional_id, producer_id,
                producer_epoch, coordinator_epoch, commit, partitions).
            is_current: False once this broker no longer coordinates the
                transaction with that coordinator epoch (checked before every try).

        Returns:
            True once every partition has its marker; False if we gave up
            (fenced, or no longer the coordinator).
        """
        pending = set(marker.partitions)
        while pending:
            if not is_current():
                return False
            by_leader = self._group_by_leader(marker, pending)
            results: dict[TopicPartition, ErrorCode] = {}
            async with trio.open_nursery() as nursery:
                for leader, partitions in by_leader.items():
                    nursery.start_soon(self._send, leader, marker, partitions, results)
            for partition, code in results.items():
                if code in _DONE:
                    pending.discard(partition)
                elif code in _FENCED:
                    log.info("markers of %r for %s: %s; giving up", marker.transactional_id,
                             partition, code.name)
                    return False
                elif code not in _RETRIABLE:
                    log.warning("markers of %r for %s: unexpected %s; retrying",
                                marker.transactional_id, partition, code.name)
            if pending:
                await trio.sleep(RETRY_BACKOFF_S)
        return True

    def _group_by_leader(self, marker, pending: set[TopicPartition]) -> dict[int, list[TopicPartition]]:
        """``{leader: partitions}``; drops partitions of deleted topics (done), skips leaderless ones."""
        image = self.image()
        by_leader: dict[int, list[TopicPartition]] = {}
        for topic, index in sorted(pending):
            topic_image = image.topic(topic)
            registration = topic_image.partitions.get(index) if topic_image is not None else None
            if registration is None:
                log.info("markers of %r: %s-%d no longer exists; skipped",
                         marker.transactional_id, topic, index)
                pending.discard((topic, index))
            elif registration.leader >= 0:
                by_leader.setdefault(registration.leader, []).append((topic, index))
        return by_leader

    async def _send(self, leader: int, marker, partitions: list[TopicPartition],
                    results: dict[TopicPartition, ErrorCode]) -> None:
        """One WriteTxnMarkers to ``leader``; each partition's error lands in ``results``."""
        topics: dict[str, list[int]] = {}
        for topic, index in partitions:
            topics.setdefault(topic, []).append(index)
        body = {"markers": [{
            "producer_id": marker.producer_id, "producer_epoch": marker.producer_epoch,
            "transaction_result": marker.commit, "coordinator_epoch": marker.coordinator_epoch,
            "topics": [{"name": name, "partition_indexes": indexes} for name, indexes in topics.items()],
        }]}
        try:
            response = await self.client.call(leader, WRITE_TXN_MARKERS_KEY, WRITE_TXN_MARKERS_VERSION, body)
        except BrokerUnreachable as exc:
            log.info("markers of %r to broker %s: %s", marker.transactional_id, leader, exc)
            for partition in partitions:
                results[partition] = ErrorCode.NETWORK_EXCEPTION
            return
        for result in response.markers:
            for topic in result.topics:
                for partition in topic.partitions:
                    results[(topic.name, partition.partition_index)] = ErrorCode(partition.error_code)
        for partition in partitions:
            results.setdefault(partition, ErrorCode.NETWORK_EXCEPTION)  # not answered: try again
