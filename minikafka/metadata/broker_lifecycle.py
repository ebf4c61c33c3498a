"""The broker's side of KIP-631: reaching the active controller, registering, heartbeating.

Two small pieces, both Trio (the decisions stay in the sans-I/O controller):

- :class:`ControllerChannel` sends one controller operation to the *active
  controller*: this node's own :class:`~minikafka.metadata.runtime.MetadataRuntime`
  when it is active, otherwise the quorum leader's. A call that meets
  NOT_CONTROLLER (an election is running, or leadership just moved) waits for
  the next change and tries again until its timeout, as Kafka's
  ``NodeToControllerChannelManager`` does.

  Reaching a peer goes through one seam, ``controllers``: a mapping
  ``{node_id: MetadataRuntime}`` of the nodes running in this process
  (:class:`InMemoryControllers`, for clusters in one ``trio.run``). Kafka
  forwards admin requests to the controller inside an Envelope (API 58);
  minikafka hands the same operation to the active controller directly.

- :class:`BrokerLifecycleManager` is Kafka's ``BrokerLifecycleManager``:
  register (``BrokerRegistration``: node id, a fresh incarnation id, the
  listeners), then heartbeat every ``broker.heartbeat.interval.ms`` with the
  last metadata offset this broker applied. The controller unfences the
  broker once that offset reaches its registration (it has "caught up"); until
  then heartbeats are sent quickly. A heartbeat answered STALE_BROKER_EPOCH or
  BROKER_ID_NOT_REGISTERED means the cluster forgot us: register again.
  :meth:`controlled_shutdown` heartbeats with ``want_shut_down`` until the
  controller has moved every leadership away and answers ``should_shut_down``.

Owned by one ``Broker``; runs in its Trio loop.
"""

from __future__ import annotations

import logging
import os

import trio

from minikafka.errors import ErrorCode, KafkaError

log = logging.getLogger("minikafka.lifecycle")

RETRY_BACKOFF_S = 0.05
CATCH_UP_HEARTBEAT_S = 0.01  # Kafka also heartbeats at once while a broker catches up
DEFAULT_CALL_TIMEOUT_S = 30.0
CONTROLLED_SHUTDOWN_TIMEOUT_S = 10.0


class InMemoryControllers(dict):
    """``{node_id: MetadataRuntime}`` of the nodes of one in-process cluster."""

    def register(self, runtime) -> None:
        self[runtime.node_id] = runtime


class ControllerChannel:
    """Sends controller operations to whichever node is the active controller.

    Args:
        metadata: this node's ``MetadataRuntime``.
        controllers: the peers reachable in this process (see the module docstring).
    """

    def __init__(self, metadata, controllers: dict | None = None):
        self.metadata = metadata
        self.controllers = controllers if controllers is not None else {}

    def _active_runtime(self):
        if self.metadata.is_active:
            return self.metadata
        leader_id = self.metadata.active_controller_id
        peer = self.controllers.get(leader_id) if leader_id is not None else None
        return peer if peer is not None and peer.is_active else None

    async def call(self, operation: str, request, *, timeout_s: float = DEFAULT_CALL_TIMEOUT_S) -> dict:
        """Run ``operation`` on the active controller; return its response dict.

        Raises:
            KafkaError: REQUEST_TIMED_OUT if no active controller answered in time.
        """
        with trio.move_on_after(timeout_s):
            while True:
                runtime = self._active_runtime()
                if runtime is not None:
                    try:
                        return await runtime.submit(operation, request)
                    except KafkaError as exc:
                        if exc.code != ErrorCode.NOT_CONTROLLER:
                            raise
                with trio.move_on_after(RETRY_BACKOFF_S):
                    await self.metadata.wait_changed()
        raise KafkaError(ErrorCode.REQUEST_TIMED_OUT, f"no active controller answered {operation}")


class BrokerLifecycleManager:
    """Registration and heartbeats of one broker (see the module docstring).

    Args:
        broker: the owning ``Broker`` (node id, config, endpoints, metadata).
        channel: its ``ControllerChannel``.
    """

    def __init__(self, broker, channel: ControllerChannel):
        self.broker = broker
        self.channel = channel
        self.incarnation_id = os.urandom(16)
        self.broker_epoch = -1
        self.fenced = True
        self.shutting_down = False
        self.interval_s = broker.config["broker.heartbeat.interval.ms"] / 1000
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
        host, port = self.broker.advertised_endpoint()
        return {"broker_id": self.broker.node_id, "incarnation_id": self.incarnation_id,
                "cluster_id": self.broker.cluster_id, "previous_broker_epoch": self.broker_epoch,
                "listeners": [{"name": "PLAINTEXT", "host": host, "port": port, "security_protocol": 0}],
                "rack": self.broker.config.get("broker.rack")}

    async def _register(self) -> None:
        while True:
            try:
                response = await self.channel.call("register_broker", self._registration_request())
            except KafkaError as exc:
                log.info("broker %s: registration failed: %s; retrying", self.broker.node_id, exc)
                await trio.sleep(RETRY_BACKOFF_S)
                continue
            if response["error_code"] == ErrorCode.NONE:
                self.broker_epoch = response["broker_epoch"]
                log.info("broker %s: registered with epoch %d", self.broker.node_id, self.broker_epoch)
                return
            log.info("broker %s: registration refused (%s); retrying",
                     self.broker.node_id, ErrorCode(response["error_code"]).name)
            await trio.sleep(self.interval_s)

    def _heartbeat_request(self, want_shut_down: bool = False) -> dict:
        return {"broker_id": self.broker.node_id, "broker_epoch": self.broker_epoch,
                "current_metadata_offset": self.broker.metadata.applied_offset,
                "want_fence": False, "want_shut_down": want_shut_down}

    async def _heartbeat(self, want_shut_down: bool = False) -> dict | None:
        try:
            response = await self.channel.call("broker_heartbeat", self._heartbeat_request(want_shut_down),
                                               timeout_s=max(self.interval_s, 1.0))
        except KafkaError as exc:
            log.debug("broker %s: heartbeat failed: %s", self.broker.node_id, exc)
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
                response = await self._heartbeat(want_shut_down=True)
                if response is not None and response["should_shut_down"]:
                    log.info("broker %s: controlled shutdown complete", self.broker.node_id)
                    return True
                await trio.sleep(CATCH_UP_HEARTBEAT_S * 5)
        log.warning("broker %s: controlled shutdown timed out", self.broker.node_id)
        return False
