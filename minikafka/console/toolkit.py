"""The failure toolkit behind the console's buttons: the local cluster's supervisor.

A cluster started by ``minikafka cluster start`` has a supervisor process that
owns the brokers (``minikafka.chaos.supervisor``). Its directory holds
``cluster.json`` with the supervisor's control port; every button of the page
becomes one command on that port (``minikafka.chaos.control``), exactly as
``minikafka cluster kill 2`` sends it. The console never signals a broker
itself: the supervisor is the brokers' parent and must know what it did.

``send_command`` blocks (a plain socket), so it runs in a worker thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from minikafka.chaos.control import ControlError, send_command

BROKER_ACTIONS = ("kill", "pause", "resume", "restart")
LINK_ACTIONS = ("cut", "heal")
STATE_TIMEOUT_S = 2.0
ACTION_TIMEOUT_S = 120.0  # ``restart`` answers once the broker has rejoined


class ToolkitError(Exception):
    """An action was refused (unknown action, no such broker, no proxies, ...)."""


class ClusterToolkit:
    """The local cluster in ``cluster_dir``: its state and its faults.

    Args:
        cluster_dir: the directory given to ``minikafka cluster start --dir``.
    """

    def __init__(self, cluster_dir):
        self.cluster_dir = Path(cluster_dir)

    def _file_state(self) -> dict | None:
        try:
            return json.loads((self.cluster_dir / "cluster.json").read_text())
        except (OSError, ValueError):
            return None

    async def state(self) -> dict | None:
        """The supervisor's live state (processes, ports, faults); the file's if it does
        not answer; None if there is no cluster in the directory."""
        saved = self._file_state()
        if saved is None:
            return None
        try:
            return await trio.to_thread.run_sync(
                lambda: send_command(saved["control_port"], "state", timeout_s=STATE_TIMEOUT_S))
        except ControlError:
            return saved

    async def broker_action(self, broker_id: int, action: str) -> None:
        """``kill``, ``pause``, ``resume`` or ``restart`` one broker."""
        if action not in BROKER_ACTIONS:
            raise ToolkitError(f"unknown broker action {action!r}; one of {', '.join(BROKER_ACTIONS)}")
        await self._command(action, broker_id)

    async def link_action(self, a: int, b: int, action: str) -> None:
        """``cut`` or ``heal`` the network between brokers ``a`` and ``b``."""
        if action not in LINK_ACTIONS:
            raise ToolkitError(f"unknown link action {action!r}; one of {', '.join(LINK_ACTIONS)}")
        await self._command(action, a, b)

    async def _command(self, command: str, *args) -> None:
        saved = self._file_state()
        if saved is None:
            raise ToolkitError(f"no cluster running in {self.cluster_dir}")
        try:
            await trio.to_thread.run_sync(
                lambda: send_command(saved["control_port"], command, *args, timeout_s=ACTION_TIMEOUT_S))
        except ControlError as exc:
            raise ToolkitError(str(exc)) from None
