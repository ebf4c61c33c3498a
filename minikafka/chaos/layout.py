"""Where each broker of a local cluster listens, and its ``server.properties``.

A local cluster of N brokers (``node.id`` 1..N) uses five blocks of ports
above ``--base-port`` P (broker *i* counts from 0)::

    P + i        client port of broker i+1: the PLAINTEXT address clients use
                 and the one the broker advertises (``advertised.listeners``)
    P + 100 + i  controller port of broker i+1: its address in
                 ``controller.quorum.voters``
    P + 200 + i  the broker's real PLAINTEXT listener (``listeners``)
    P + 300 + i  the broker's real CONTROLLER listener (``listeners``)
    P + 400 + i  the broker's Prometheus endpoint (``metrics.http.listener``,
                 ``http://127.0.0.1:P+400+i/metrics``; never proxied)

The web console (``minikafka console``), when the supervisor runs one, has
its own port, outside these blocks: ``console_port``, 8080 for ``minikafka
cluster start`` (``--console-port``, ``--no-console``). So has the schema
registry (``minikafka schema-registry``): ``schema_registry_port``, 8081,
Confluent's port (``--schema-registry-port``, ``--no-schema-registry``).

The first two blocks are *front proxies* owned by the supervisor
(``minikafka.chaos.proxy``); they forward to the last two. Every connection to
a broker, from a client or from a peer broker, passes through a front proxy,
which is what lets the supervisor cut or slow chosen links without root. With
the defaults (P = 9092) clients use 9092, 9093, 9094 as with any Kafka
quickstart, and every broker gets the same ``controller.quorum.voters``::

    controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194

Kafka allows an advertised port that differs from the bound one (it is how a
broker behind NAT is reached), so nothing here is specific to minikafka.

**Direct mode** (``proxies=False``, ``minikafka cluster start --no-proxies``).
The proxies cost CPU: every byte is copied by the supervisor's Python code
once per hop (client to leader, leader to each follower), which on a small
machine hides the brokers' own replication cost. Without them each broker
binds its listeners on the first two blocks itself (``listeners`` and
``advertised.listeners`` are the same address, ``controller.quorum.voters``
names the real controller ports), so clients use the same addresses and the
third and fourth blocks are unused. Nothing stands between the brokers, so ``cut``,
``heal`` and ``slow`` are not available: use direct mode to measure, the
default to break links.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
CONTROLLER_PORT_OFFSET = 100
INTERNAL_PLAINTEXT_OFFSET = 200
INTERNAL_CONTROLLER_OFFSET = 300
METRICS_OFFSET = 400
MAX_BROKERS = 100  # the port blocks above are 100 wide


@dataclasses.dataclass(frozen=True)
class BrokerLayout:
    """One broker's id, ports and data directory (immutable; shared freely)."""

    node_id: int
    client_port: int
    controller_port: int
    internal_port: int
    internal_controller_port: int
    metrics_port: int
    log_dir: Path

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients (the front proxy, or the listener in direct mode)."""
        return f"{HOST}:{self.client_port}"


@dataclasses.dataclass(frozen=True)
class ClusterLayout:
    """The whole cluster's ports and directories, computed from three numbers.

    Args:
        data_dir: the cluster directory (``broker-N/``, ``cluster.json``, logs).
        brokers: how many brokers.
        base_port: the first client port.
        overrides: extra ``server.properties`` keys for every broker.
        proxies: front proxies between everyone and the brokers (the
            default); False for direct mode (see the module docstring).
        console_port: where the supervisor serves the web console
            (``http://127.0.0.1:PORT``, ``minikafka console``); None: no console.
        schema_registry_port: where the supervisor serves the schema registry
            (``minikafka schema-registry``); None: no registry.
    """

    data_dir: Path
    brokers: int = 3
    base_port: int = 9092
    overrides: tuple[tuple[str, str], ...] = ()
    proxies: bool = True
    console_port: int | None = None
    schema_registry_port: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))  # accept any path-like
        if not 1 <= self.brokers <= MAX_BROKERS:
            raise ValueError(f"--brokers must be between 1 and {MAX_BROKERS}, not {self.brokers}")
        if not 1024 <= self.base_port <= 65535 - METRICS_OFFSET - self.brokers:
            raise ValueError(f"--base-port {self.base_port} leaves no room for the port blocks")

    @property
    def console_url(self) -> str | None:
        """``http://127.0.0.1:PORT``, where the console serves its page (None: no console)."""
        return f"http://{HOST}:{self.console_port}" if self.console_port else None

    @property
    def schema_registry_url(self) -> str | None:
        """``http://127.0.0.1:PORT``, where the schema registry serves (None: no registry)."""
        return f"http://{HOST}:{self.schema_registry_port}" if self.schema_registry_port else None

    def broker(self, node_id: int) -> BrokerLayout:
        """The layout of broker ``node_id`` (1-based, as ``node.id``)."""
        if not 1 <= node_id <= self.brokers:
            raise ValueError(f"no broker {node_id}: the cluster has brokers 1..{self.brokers}")
        client_port = self.base_port + node_id - 1
        controller_port = client_port + CONTROLLER_PORT_OFFSET
        # In direct mode the broker itself listens where the proxies would.
        hidden = INTERNAL_PLAINTEXT_OFFSET if self.proxies else 0
        return BrokerLayout(
            node_id=node_id,
            client_port=client_port,
            controller_port=controller_port,
            internal_port=client_port + hidden,
            internal_controller_port=controller_port + hidden,
            metrics_port=client_port + METRICS_OFFSET,
            log_dir=Path(self.data_dir) / f"broker-{node_id}",
        )

    @property
    def node_ids(self) -> list[int]:
        return list(range(1, self.brokers + 1))

    @property
    def bootstrap(self) -> str:
        """Every client address, comma-separated (``bootstrap.servers``)."""
        return ",".join(self.broker(n).bootstrap for n in self.node_ids)

    @property
    def quorum_voters(self) -> str:
        """``controller.quorum.voters``: the same string on every broker."""
        return ",".join(f"{n}@{HOST}:{self.broker(n).controller_port}" for n in self.node_ids)

    def all_ports(self) -> list[int]:
        """Every port the cluster binds (three per broker in direct mode, five with proxies)."""
        ports = []
        for n in self.node_ids:
            b = self.broker(n)
            ports += [b.client_port, b.controller_port, b.internal_port, b.internal_controller_port,
                      b.metrics_port]
        return sorted(set(ports))

    def properties(self, node_id: int) -> dict[str, str]:
        """Broker ``node_id``'s ``server.properties`` as an ordered dict."""
        b = self.broker(node_id)
        values = {
            "process.roles": "broker,controller",
            "node.id": str(node_id),
            "controller.quorum.voters": self.quorum_voters,
            "listeners": f"PLAINTEXT://{HOST}:{b.internal_port},CONTROLLER://{HOST}:{b.internal_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{b.client_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": os.fspath(b.log_dir),
            "metrics.http.listener": f"{HOST}:{b.metrics_port}",
        }
        # Replication settings keep Kafka's defaults (default.replication.factor=1,
        # min.insync.replicas=1; offsets.topic.replication.factor=3): labs set
        # them with --override or per topic, as on a real cluster.
        values.update(dict(self.overrides))
        return values

    def properties_text(self, node_id: int) -> str:
        front = "a proxy in front of the listener" if self.proxies else "the listener itself: no proxies"
        lines = [f"# minikafka cluster: broker {node_id} of {self.brokers} (written by `minikafka cluster start`)",
                 f"# clients connect to {self.broker(node_id).bootstrap} ({front})"]
        lines += [f"{key}={value}" for key, value in self.properties(node_id).items()]
        return "\n".join(lines) + "\n"

    def config_path(self, node_id: int) -> Path:
        return Path(self.data_dir) / f"broker-{node_id}.properties"

    @property
    def console_log_path(self) -> Path:
        """Where the console's output goes."""
        return Path(self.data_dir) / "console.log"

    @property
    def schema_registry_log_path(self) -> Path:
        """Where the schema registry's output goes."""
        return Path(self.data_dir) / "schema-registry.log"

    def log_path(self, node_id: int) -> Path:
        """Where broker ``node_id``'s stdout and stderr go."""
        return Path(self.data_dir) / f"broker-{node_id}.log"

    @property
    def state_path(self) -> Path:
        return Path(self.data_dir) / "cluster.json"


def busy_ports(ports: list[int]) -> list[int]:
    """The ports in ``ports`` that cannot be bound on 127.0.0.1 right now."""
    busy = []
    for port in ports:
        with socket.socket() as sock:
            # As the listeners will (Trio sets it): connections of a stopped
            # cluster lingering in TIME_WAIT do not make a port busy.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                busy.append(port)
    return busy


def find_free_base_port(brokers: int, attempts: int = 50) -> int:
    """A base port whose port blocks are all free (for tests and ``--base-port 0``)."""
    for _ in range(attempts):
        base = random.randrange(20000, 60000 - METRICS_OFFSET - brokers)
        layout = ClusterLayout(Path("."), brokers, base)
        if not busy_ports(layout.all_ports()):
            return base
    raise RuntimeError("could not find free ports for a local cluster")
