"""``ClusterFaults``: break the lab's local cluster from a lab's code.

``minikafka lab start`` runs the local cluster detached (``minikafka cluster
start --detach``): a supervisor process owns the brokers and the front
proxies, and listens for one-line JSON commands on its control port
(``minikafka.chaos.control``, the same channel ``minikafka cluster kill 2``
uses). ``ClusterFaults`` sends those commands, so a lab's ``solve`` or
``check`` can do what the student does with ``minikafka cluster ...``::

    ctx.cluster.kill(2)          # kill -9 broker 2
    ctx.cluster.restart(2)       # returns once broker 2 answers again
    ctx.cluster.cut(1, 3)        # network partition between brokers 1 and 3
    ctx.cluster.slow(1, 3, 200)  # 200 ms more each way
    ctx.cluster.heal_all()

Each call blocks until the supervisor has done it and raises
``ControlError`` (one readable line) when it refuses (no broker 5, a network
fault on a cluster started without proxies, ...). Only a lab that started
its own cluster has one: on ``--bootstrap-server`` ``ctx.cluster`` is None,
and a lab that needs faults (``needs_fault_toolkit``) says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from minikafka.chaos.control import ControlError, send_command

__all__ = ["ClusterFaults", "ControlError"]


class ClusterFaults:
    """The fault toolkit of one detached local cluster, by ``node.id``.

    Args:
        cluster_dir: the cluster's directory (its ``cluster.json`` names the
            supervisor's control port).

    Thread-safe: each call is one connection to the supervisor.
    """

    def __init__(self, cluster_dir: Path):
        self.cluster_dir = Path(cluster_dir)

    def _send(self, command: str, *args):
        try:
            state = json.loads((self.cluster_dir / "cluster.json").read_text())
        except (OSError, ValueError):
            raise ControlError(f"no cluster running in {self.cluster_dir} (no cluster.json)") from None
        return send_command(state["control_port"], command, *args)

    def kill(self, node_id: int) -> None:
        """``kill -9`` the broker (``minikafka cluster kill``)."""
        self._send("kill", node_id)

    def pause(self, node_id: int) -> None:
        """Freeze the broker with SIGSTOP: it holds its connections but answers nothing."""
        self._send("pause", node_id)

    def resume(self, node_id: int) -> None:
        """SIGCONT a paused broker."""
        self._send("resume", node_id)

    def restart(self, node_id: int) -> None:
        """Stop the broker cleanly (or start a killed one); return once it answers."""
        self._send("restart", node_id)

    def cut(self, a: int, b: int) -> None:
        """Partition the network between brokers ``a`` and ``b`` (both directions)."""
        self._send("cut", a, b)

    def heal(self, a: int, b: int) -> None:
        """Undo ``cut(a, b)``."""
        self._send("heal", a, b)

    def isolate(self, node_id: int) -> None:
        """Cut the broker off from every other broker (clients still reach it)."""
        self._send("isolate", node_id)

    def heal_all(self) -> None:
        """Undo every cut, between brokers and from clients."""
        self._send("heal-all")

    def cut_client(self, node_id: int) -> None:
        """Clients can no longer reach the broker (its peers still can)."""
        self._send("cut-client", node_id)

    def heal_client(self, node_id: int) -> None:
        """Undo ``cut_client``."""
        self._send("heal-client", node_id)

    def slow(self, a: int, b: int, delay_ms: float) -> None:
        """Add ``delay_ms`` one-way latency between brokers ``a`` and ``b`` (0 removes it)."""
        self._send("slow", a, b, delay_ms)

    def slow_client(self, node_id: int, delay_ms: float) -> None:
        """Add ``delay_ms`` one-way latency between clients and the broker (0 removes it)."""
        self._send("slow-client", node_id, delay_ms)

    def state(self) -> dict:
        """The supervisor's view: brokers (pids, ports, alive/dead/paused) and active faults."""
        return self._send("state")
