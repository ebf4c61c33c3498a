"""The broker's side of KIP-631: reaching the active controller, registering, heartbeating.

Two small pieces, both Trio (the decisions stay in the sans-I/O controller):

- :class:`ControllerChannel` sends one controller operation to the *active
  controller*: this node's own :class:`~minikafka.metadata.runtime.MetadataRuntime`
  when it is active, otherwise the quorum leader's. A call that meets
  NOT_CONTROLLER (an election is running, or leadership just moved) waits for
  the next change and tries again until its timeout, as Kafka's
  ``NodeToControllerChannelManager`` does.

  Reaching a peer goes through one of two seams. ``controllers``: a mapping
  ``{node_id: MetadataRuntime}`` of the nodes running in this process
  (:class:`InMemoryControllers`, for clusters in one ``trio.run``), which get
  the operation handed over directly. ``remote``: a :class:`RemoteControllers`
  for peers in other processes, reached on the CONTROLLER listener named in
  ``controller.quorum.voters``.

  Across processes (design choice): Kafka's broker forwards a client's admin
  request to the controller wrapped in an Envelope (API 58, with the
  client's principal), and talks to it with BrokerRegistration (62) and
  BrokerHeartbeat (63). minikafka uses Kafka's 62/63 unchanged, but instead
  of an Envelope it sends the *controller operation's request*, which already
  is a CreateTopics / DeleteTopics / CreatePartitions / AlterConfigs /
  IncrementalAlterConfigs body, as that plain request on the controller's
  CONTROLLER listener, and relays the response
  (:mod:`minikafka.handlers.controller_apis` answers it there; the
  operation -> API table is :mod:`minikafka.metadata.forwarding`). Why: no
  principals or quotas to carry, so an Envelope would add a second framing
  layer for nothing; the request the broker sends is the one it has already
  validated (for example IncrementalAlterConfigs already turned into the
  complete override set), so the controller never runs client-facing checks
  that depend on which broker it is (a per-broker config resource); and the
  same operation table serves the in-process seam. A NOT_CONTROLLER answer
  (the peer lost or never had leadership) or a network error makes the
  channel look for the leader again, as for a local call.

- :class:`BrokerLifecycleManager` is Kafka's ``BrokerLifecycleManager``:
  register (``BrokerRegistration``: node id, a fresh incarnation id, the
  listeners), then heartbeat every ``broker.heartbeat.interval.ms`` with the
  last metadata offset this broker applied. The controller unfences the
  broker once that offset reaches its registration (it has "caught up"); until
  then heartbeats are sent quickly. A heartbeat answered STALE_BROKER_EPOCH or
  BROKER_ID_NOT_REGISTERED means the cluster forgot us: register again.
  :meth:`controlled_shutdown` heartbeats with ``want_shut_down`` until the
  controller has moved every leadership away and answers ``should_shut_down``
  (at once if no other broker is active to take them).

Owned by one ``Broker``; runs in its Trio loop.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Callable, Protocol

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.forwarding import FORWARDED
from minikafka.protocol.codec import as_dict
from minikafka.rpc.client import exchange

if TYPE_CHECKING:
    from minikafka.metadata.runtime import MetadataRuntime

log = logging.getLogger("minikafka.lifecycle")

RETRY_BACKOFF_S = 0.05
CATCH_UP_HEARTBEAT_S = 0.01  # Kafka also heartbeats at once while a broker catches up
DEFAULT_CALL_TIMEOUT_S = 30.0
REMOTE_REQUEST_TIMEOUT_S = 5.0  # a hung (paused) controller: give up, look again
REMOTE_RETRY_BACKOFF_S = 0.2  # after a network error, so a dead leader is not hammered
CONTROLLED_SHUTDOWN_TIMEOUT_S = 10.0


class InMemoryControllers(dict):
    """``{node_id: MetadataRuntime}`` of the nodes of one in-process cluster."""

    def register(self, runtime) -> None:
        self[runtime.node_id] = runtime


class RemoteControllers:
    """Controllers in other processes, reached over Kafka's protocol.

    One connection per controller, one request in flight on it (a lock);
    any error closes it and the next call dials again. Owned by one
    ``ControllerChannel``.

    Args:
        node_id: this node (used as the client id ``controller-channel-N``).
        voters: ``{node_id: (host, port)}`` of ``controller.quorum.voters``:
            each voter's CONTROLLER listener.
        open_stream: ``open_stream(host, port)``, the broker's network seam.
    """

    def __init__(self, node_id: int, voters: dict, open_stream=None):
        self.node_id = node_id
        self.voters = {n: address for n, address in voters.items() if address is not None}
        self.open_stream = open_stream or trio.open_tcp_stream
        self._streams: dict[int, trio.abc.Stream] = {}
        self._locks: dict[int, trio.Lock] = {}
        self._correlation_id = 0

    def reaches(self, node_id: int | None) -> bool:
        return node_id is not None and node_id != self.node_id and node_id in self.voters

    async def call(self, node_id: int, operation: str, request) -> dict:
        """Send ``operation`` to controller ``node_id``; return the response as a dict.

        Raises:
            KafkaError: NOT_CONTROLLER if the peer is not the active controller
                or could not be reached in time (both mean: look again).
        """
        api = FORWARDED[operation]
        lock = self._locks.setdefault(node_id, trio.Lock())
        async with lock:
            try:
                with trio.fail_after(REMOTE_REQUEST_TIMEOUT_S):
                    response = await self._exchange(node_id, api.api_key, api.version, as_dict(request))
            except (OSError, trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError,
                    ValueError) as exc:  # ValueError: DecodeError, FramingError
                await self._close(node_id)
                log.debug("node %s: controller %s unreachable for %s: %s", self.node_id, node_id, operation, exc)
                await trio.sleep(REMOTE_RETRY_BACKOFF_S)
                raise KafkaError(ErrorCode.NOT_CONTROLLER, f"controller {node_id} unreachable: {exc}") from None
        results = [response] if api.results is None else response.get(api.results) or []
        if any(r.get("error_code") == ErrorCode.NOT_CONTROLLER for r in results):
            raise KafkaError(ErrorCode.NOT_CONTROLLER, f"node {node_id} is not the active controller")
        return response

    async def _exchange(self, node_id: int, api_key: int, version: int, body: dict) -> dict:
        stream = self._streams.get(node_id)
        if stream is None:
            stream = self._streams[node_id] = await self.open_stream(*self.voters[node_id])
        self._correlation_id += 1
        response = await exchange(stream, api_key, version, self._correlation_id,
                                  f"controller-channel-{self.node_id}", body)
        return as_dict(response)

    async def _close(self, node_id: int) -> None:
        stream = self._streams.pop(node_id, None)
        if stream is not None:
            await trio.aclose_forcefully(stream)

    async def aclose(self) -> None:
        for node_id in list(self._streams):
            await self._close(node_id)


class ControllerRequests(Protocol):
    """Runs an operation on the active controller, wherever it is (``ControllerChannel``).

    What the broker's runtimes that talk to the controller are given: the
    lifecycle manager, the replica manager (AlterPartition) and the producer
    id manager (AllocateProducerIds).
    """

    async def call(self, operation: str, request, *, timeout_s: float = ...) -> dict: ...


class ControllerChannel:
    """Sends controller operations to whichever node is the active controller.

    Args:
        metadata: this node's ``MetadataRuntime``.
        controllers: the peers reachable in this process (see the module docstring).
        remote: a ``RemoteControllers`` for peers in other processes, or None.
    """

    def __init__(self, metadata: MetadataRuntime, controllers: dict | None = None,
                 remote: RemoteControllers | None = None):
        self.metadata = metadata
        self.controllers = controllers if controllers is not None else {}
        self.remote = remote

    def _active_runtime(self):
        if self.metadata.is_active:
            return self.metadata
        leader_id = self.metadata.active_controller_id
        peer = self.controllers.get(leader_id) if leader_id is not None else None
        return peer if peer is not None and peer.is_active else None

    async def _try_once(self, operation: str, request):
        """One attempt on the controller we know of; None if there is none yet."""
        runtime = self._active_runtime()
        if runtime is not None:
            return await runtime.submit(operation, request)
        leader_id = self.metadata.active_controller_id
        if self.remote is not None and self.remote.reaches(leader_id) and leader_id not in self.controllers:
            return await self.remote.call(leader_id, operation, request)
        return None

    async def call(self, operation: str, request, *, timeout_s: float = DEFAULT_CALL_TIMEOUT_S) -> dict:
        """Run ``operation`` on the active controller; return its response dict.

        Raises:
            KafkaError: REQUEST_TIMED_OUT if no active controller answered in time.
        """
        with trio.move_on_after(timeout_s):
            while True:
                try:
                    response = await self._try_once(operation, request)
                except KafkaError as exc:
                    if exc.code != ErrorCode.NOT_CONTROLLER:
                        raise
                else:
                    if response is not None:
                        return response
                with trio.move_on_after(RETRY_BACKOFF_S):
                    await self.metadata.wait_changed()
        raise KafkaError(ErrorCode.REQUEST_TIMED_OUT, f"no active controller answered {operation}")


class BrokerLifecycleManager:
    """Registration and heartbeats of one broker (see the module docstring).

    Args:
        channel: reaches the active controller (the broker's ``ControllerChannel``).
        metadata: this node's ``MetadataRuntime``: the offset it has applied
            (sent with every heartbeat) and the committed image (who else is active).
        node_id: this broker's ``node.id``.
        cluster_id: the cluster id from ``meta.properties``.
        advertised_endpoint: returns the ``(host, port)`` to register (known
            once the listeners are bound).
        heartbeat_interval_ms: ``broker.heartbeat.interval.ms``.
        rack: ``broker.rack``, or None.
    """

    def __init__(self, channel: ControllerRequests, metadata: MetadataRuntime, *, node_id: int,
                 cluster_id: str | None, advertised_endpoint: Callable[[], tuple[str, int]],
                 heartbeat_interval_ms: int, rack: str | None = None):
        self.channel = channel
        self.metadata = metadata
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.advertised_endpoint = advertised_endpoint
        self.rack = rack
        self.incarnation_id = os.urandom(16)
        self.broker_epoch = -1
        self.fenced = True
        self.shutting_down = False
        self.interval_s = heartbeat_interval_ms / 1000
        self._unfenced = trio.Event()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Register, heartbeat until unfenced, report started, keep heartbeating."""
        await self._register()
        while not self._unfenced.is_set():
            await self._heartbeat()
            if not self._unfenced.is_set():
                await trio.sleep(CATCH_UP_HEARTBEAT_S)
        task_status.started()
        while True:
            await trio.sleep(self.interval_s)
            if not self.shutting_down:
                await self._heartbeat()

    def _registration_request(self) -> dict:
        host, port = self.advertised_endpoint()
        return {"broker_id": self.node_id, "incarnation_id": self.incarnation_id,
                "cluster_id": self.cluster_id, "previous_broker_epoch": self.broker_epoch,
                "listeners": [{"name": "PLAINTEXT", "host": host, "port": port, "security_protocol": 0}],
                "rack": self.rack}

    async def _register(self) -> None:
        while True:
            try:
                response = await self.channel.call("register_broker", self._registration_request())
            except KafkaError as exc:
                log.info("broker %s: registration failed: %s; retrying", self.node_id, exc)
                await trio.sleep(RETRY_BACKOFF_S)
                continue
            if response["error_code"] == ErrorCode.NONE:
                self.broker_epoch = response["broker_epoch"]
                log.info("broker %s: registered with epoch %d", self.node_id, self.broker_epoch)
                return
            log.info("broker %s: registration refused (%s); retrying",
                     self.node_id, ErrorCode(response["error_code"]).name)
            await trio.sleep(self.interval_s)

    def _heartbeat_request(self, want_shut_down: bool = False) -> dict:
        return {"broker_id": self.node_id, "broker_epoch": self.broker_epoch,
                "current_metadata_offset": self.metadata.applied_offset,
                "want_fence": False, "want_shut_down": want_shut_down}

    async def _heartbeat(self, want_shut_down: bool = False) -> dict | None:
        try:
            response = await self.channel.call("broker_heartbeat", self._heartbeat_request(want_shut_down),
                                               timeout_s=max(self.interval_s, 1.0))
        except KafkaError as exc:
            log.debug("broker %s: heartbeat failed: %s", self.node_id, exc)
            return None
        if response["error_code"] in (ErrorCode.STALE_BROKER_EPOCH, ErrorCode.BROKER_ID_NOT_REGISTERED):
            self.fenced = True
            await self._register()
            return None
        self.fenced = response["is_fenced"]
        if not self.fenced:
            self._unfenced.set()
        return response

    async def controlled_shutdown(self, timeout_s: float = CONTROLLED_SHUTDOWN_TIMEOUT_S) -> bool:
        """Ask the controller to move our leaderships away; True once it agreed we may exit."""
        if self.broker_epoch < 0:
            return True
        self.shutting_down = True
        with trio.move_on_after(timeout_s):
            while True:
                if not self._another_broker_is_active():
                    log.info("broker %s: no other broker is active; no leadership to hand over",
                             self.node_id)
                    return True
                response = await self._heartbeat(want_shut_down=True)
                if response is not None and response["should_shut_down"]:
                    log.info("broker %s: controlled shutdown complete", self.node_id)
                    return True
                await trio.sleep(CATCH_UP_HEARTBEAT_S * 5)
        log.warning("broker %s: controlled shutdown timed out", self.node_id)
        return False

    def _another_broker_is_active(self) -> bool:
        """Could any other broker take over a leadership (unfenced, not shutting down)?

        When every broker stops at once (``minikafka cluster stop``) the last
        ones have nowhere to move leadership to, and the last voter could not
        even commit the change: they exit without waiting.
        """
        brokers = self.metadata.image.brokers
        return any(registration.is_active for broker_id, registration in brokers.items()
                   if broker_id != self.node_id)
