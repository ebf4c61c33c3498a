"""The supervisor: starts a local cluster's broker processes and breaks them on demand.

One ``Supervisor`` owns, inside one Trio run:

- N broker **processes** (``python -m minikafka broker --config
  broker-N.properties``), each in its own session so a terminal's Ctrl-C
  reaches only the supervisor, which then stops them in order;
- two **front proxies** per broker (client port, controller port) sharing one
  ``LinkRules`` (``minikafka.chaos.proxy``), unless the layout is in direct
  mode (``proxies=False``: the brokers listen on those ports themselves, and
  the network faults ``cut``, ``heal``, ``slow``, ... are refused with
  ``NO_PROXIES``; see ``minikafka.chaos.layout``);
- the **web console** (``python -m minikafka console --cluster-dir``), when
  the layout has a ``console_port``: started once the cluster is ready, its
  buttons come back here through the control channel; a console that cannot
  start (its port is taken) is logged and left out, the cluster runs on;
- the **schema registry** (``python -m minikafka schema-registry``), when the
  layout has a ``schema_registry_port``, started next to the console, in the
  same way (its schemas live in the cluster's ``_schemas`` topic);
- a **control channel**: a TCP socket on 127.0.0.1 (port chosen by the
  kernel, written to ``cluster.json``) that takes one JSON line
  ``{"command": "kill", "args": [2]}`` and answers one JSON line
  ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.
  A socket rather than signals because commands carry arguments (``cut 1 3``)
  and answers; TCP rather than a Unix socket because pytest's temporary
  paths can exceed the 108-byte limit of a socket path.

``<dir>/cluster.json`` (the *state file*) says where everything is: the
supervisor's pid and control port, whether proxies run (``"proxies"``), and
per broker its pid and ports (``metrics_port``: its Prometheus endpoint). It is
rewritten after every change and removed when the supervisor stops cleanly.

Every fault goes through the supervisor, even ``kill``, because the
supervisor is the brokers' parent: it reaps them, restarts them with the same
config and data, and knows which ones it paused. ``python -m
minikafka.chaos.supervisor`` runs one in the background for ``minikafka
cluster start --detach``; the foreground command and the test harness
(``minikafka.chaos.harness``) run the same class in-process.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time

import trio

from minikafka.chaos import health, socket_owner
from minikafka.chaos.layout import HOST, ClusterLayout, busy_ports
from minikafka.chaos.proxy import CLIENT, FrontProxy, LinkRules
from minikafka.config import load_or_create_meta_properties, parse_properties, random_uuid, uuid_to_str
from minikafka.fileutil import atomic_write

READY_TIMEOUT_S = 30.0
CONSOLE_START_TIMEOUT_S = 20.0
REGISTRY_START_TIMEOUT_S = 60.0  # creates _schemas and joins its group first
STOP_TIMEOUT_S = 15.0  # SIGTERM, then this long, then SIGKILL
POLL_S = 0.05

NO_PROXIES = "this cluster runs without proxies (--no-proxies): network faults are not available"

log = logging.getLogger("minikafka.chaos.supervisor")


class SupervisorError(Exception):
    """A command could not be carried out (one line, shown to the user)."""


def network_fault(method):
    """Mark a ``Supervisor`` method that works through the proxies' ``LinkRules``;
    in direct mode it raises ``SupervisorError(NO_PROXIES)`` instead."""

    @functools.wraps(method)
    def checked(self, *args):
        if not self.layout.proxies:
            raise SupervisorError(NO_PROXIES)
        return method(self, *args)

    return checked


class BrokerProcess:
    """One broker child process; restarted in place with the same config and data."""

    def __init__(self, layout: ClusterLayout, node_id: int, python: str):
        self.layout = layout
        self.node_id = node_id
        self.ports = layout.broker(node_id)
        self.python = python
        self.process: subprocess.Popen | None = None
        self.paused = False
        self._log_offset = 0

    def start(self) -> None:
        args = [self.python, "-m", "minikafka", "broker", "--debug", "--config",
                os.fspath(self.layout.config_path(self.node_id))]
        with open(self.layout.log_path(self.node_id), "ab") as log_file:
            self._log_offset = log_file.tell()  # this run's output starts here
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_file,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.paused = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def state(self) -> str:
        """``alive``, ``paused`` or ``dead``."""
        if not self.alive():
            return "dead"
        return "paused" if self.paused else "alive"

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.process.pid, signum)

    async def wait_exit(self, timeout_s: float) -> bool:
        """Wait for the process to end; True if it did within ``timeout_s``."""
        with trio.move_on_after(timeout_s):
            while self.alive():
                await trio.sleep(POLL_S)
        return not self.alive()

    async def stop(self) -> None:
        """Clean shutdown: SIGTERM (after SIGCONT if paused), then SIGKILL if it hangs."""
        if not self.alive():
            return
        self.resume()  # a stopped process cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        if not await self.wait_exit(STOP_TIMEOUT_S):
            log.warning("broker %d ignored SIGTERM for %.0f s; killing it", self.node_id, STOP_TIMEOUT_S)
            self.kill()

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()
        self.paused = False

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)
        self.paused = self.alive()

    def resume(self) -> None:
        self.signal(signal.SIGCONT)
        self.paused = False

    def joined(self) -> bool:
        """Has this run printed its banner? ``minikafka broker`` prints it once
        ``Broker.serve`` started: listening, registered and unfenced by the
        active controller (so the quorum has a leader)."""
        try:
            with open(self.layout.log_path(self.node_id), "rb") as f:
                f.seek(self._log_offset)
                return f"minikafka broker {self.node_id} listening on".encode() in f.read()
        except OSError:
            return False

    async def wait_joined(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once the broker has joined the cluster (see :meth:`joined`)."""
        deadline = trio.current_time() + timeout_s
        while not self.joined():
            if not self.alive():
                raise SupervisorError(f"broker {self.node_id} exited with status "
                                      f"{self.process.returncode}; see {self.layout.log_path(self.node_id)}")
            if trio.current_time() > deadline:
                raise SupervisorError(f"broker {self.node_id} did not join the cluster within "
                                      f"{timeout_s:.0f} s; see {self.layout.log_path(self.node_id)}")
            await trio.sleep(POLL_S)

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once the broker answers ApiVersions on its listener."""
        from minikafka_clients import KafkaConnectionError, connect

        deadline = trio.current_time() + timeout_s
        while trio.current_time() < deadline:
            if not self.alive():
                raise SupervisorError(f"broker {self.node_id} exited with status "
                                      f"{self.process.returncode}; see {self.layout.log_path(self.node_id)}")
            try:
                async with trio.open_nursery() as nursery:
                    connection = await connect(nursery, HOST, self.ports.internal_port, timeout_ms=1000)
                    await connection.aclose()
                return
            except* (KafkaConnectionError, OSError):  # raised inside a nursery: grouped
                pass
            await trio.sleep(0.1)
        raise SupervisorError(f"broker {self.node_id} did not answer ApiVersions within {timeout_s:.0f} s; "
                              f"see {self.layout.log_path(self.node_id)}")


class ServiceProcess:
    """A helper service of the cluster in a child process: the console, the schema registry.

    Subclasses say how to start it (``args``), where it serves (``port``,
    ``public_url``, ``log_path``) and when it is ready (``is_ready``). A
    service that cannot start is logged and left out: the cluster runs on.
    """

    name = "service"
    option = "--service-port"
    start_timeout_s = CONSOLE_START_TIMEOUT_S

    def __init__(self, layout: ClusterLayout, python: str):
        self.layout = layout
        self.python = python
        self.process: subprocess.Popen | None = None
        self.url: str | None = None  # set once it serves

    port: int
    public_url: str
    log_path: os.PathLike

    def args(self) -> list[str]:
        raise NotImplementedError

    async def is_ready(self) -> bool:
        return await _accepts(HOST, self.port)

    async def start(self) -> None:
        """Start it and wait until it is ready; log why if it cannot."""
        if busy_ports([self.port]):
            log.warning("port %d is taken: the cluster runs without its %s (%s)",
                        self.port, self.name, self.option)
            return
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log_file,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        with trio.move_on_after(self.start_timeout_s):
            while self.process.poll() is None:
                if await self.is_ready():
                    self.url = self.public_url
                    return
                await trio.sleep(0.1)
        log.warning("the %s did not start (see %s); the cluster runs without it",
                    self.name, self.log_path)
        await self.stop()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with trio.move_on_after(STOP_TIMEOUT_S):
                while self.process.poll() is None:
                    await trio.sleep(POLL_S)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self.url = None


class ConsoleProcess(ServiceProcess):
    """The web console of the cluster (``minikafka console``)."""

    name = "console"
    option = "--console-port"

    @property
    def port(self) -> int:
        return self.layout.console_port

    @property
    def public_url(self) -> str:
        return self.layout.console_url

    @property
    def log_path(self):
        return self.layout.console_log_path

    def args(self) -> list[str]:
        return [self.python, "-m", "minikafka", "console", "--bootstrap-server", self.layout.bootstrap,
                "--listen", f"{HOST}:{self.port}", "--cluster-dir", os.fspath(self.layout.data_dir)]


class SchemaRegistryProcess(ServiceProcess):
    """The cluster's schema registry (``minikafka schema-registry``), schemas in ``_schemas``.

    Ready once it printed its ``schema registry: URL`` line: it has read
    ``_schemas`` to the end and knows its leader, so writes work at once.
    """

    name = "schema registry"
    option = "--schema-registry-port"
    start_timeout_s = REGISTRY_START_TIMEOUT_S

    @property
    def port(self) -> int:
        return self.layout.schema_registry_port

    @property
    def public_url(self) -> str:
        return self.layout.schema_registry_url

    @property
    def log_path(self):
        return self.layout.schema_registry_log_path

    def args(self) -> list[str]:
        return [self.python, "-m", "minikafka", "schema-registry",
                "--bootstrap-server", self.layout.bootstrap, "--listen", f"{HOST}:{self.port}"]

    async def is_ready(self) -> bool:
        try:
            text = open(self.log_path, "rb").read().decode(errors="replace")
        except OSError:
            return False
        return f"schema registry: {self.public_url}" in text


async def _accepts(host: str, port: int) -> bool:
    try:
        stream = await trio.open_tcp_stream(host, port)
    except OSError:
        return False
    await stream.aclose()
    return True


class Supervisor:
    """Starts, breaks and stops one local cluster. Owned by one Trio run.

    Args:
        layout: ports and directories.
        python: the interpreter that runs the brokers.
    """

    def __init__(self, layout: ClusterLayout, python: str = sys.executable):
        self.layout = layout
        self.rules = LinkRules()
        self.brokers = {n: BrokerProcess(layout, n, python) for n in layout.node_ids}
        self.console = ConsoleProcess(layout, python) if layout.console_port else None
        self.schema_registry = (SchemaRegistryProcess(layout, python)
                                if layout.schema_registry_port else None)
        self.control_port: int | None = None
        self.ready = False  # every broker answered once (the state file says so)
        self.stopped = trio.Event()  # set once serve() has stopped every broker
        self._cancel_scope = trio.CancelScope()  # entered by serve(); shutdown() cancels it

    # -- running ------------------------------------------------------------

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Start everything; ``task_status.started(self)`` once every broker answers.

        Runs until cancelled (or ``stop`` is commanded); on the way out it
        stops every broker and removes the state file.
        """
        self._prepare_directory()
        ready = False

        def started(value=None):
            nonlocal ready
            ready = True
            task_status.started(value)

        # The proxies outlive the brokers: a stopping broker still talks to
        # its peers through them (controlled shutdown, the last fetches).
        async with trio.open_nursery() as proxies:
            if self.layout.proxies:
                await self._start_proxies(proxies)
            try:
                with self._cancel_scope:
                    await self._run(started)
            finally:
                with trio.CancelScope(shield=True):
                    await self.stop_all()
                    self.layout.state_path.unlink(missing_ok=True)
                    self.stopped.set()
                proxies.cancel_scope.cancel()
        if not ready:
            raise SupervisorError("stopped before every broker answered")

    async def _run(self, started) -> None:
        async with trio.open_nursery() as nursery:
            self.control_port = await nursery.start(self._serve_control)
            for broker in self.brokers.values():
                broker.start()
            self._write_state()
            for broker in self.brokers.values():
                await broker.wait_ready()
            # Listeners open at once (they must answer the quorum's RPCs);
            # the cluster is ready once the quorum elected a controller and
            # every broker registered with it and was unfenced.
            for broker in self.brokers.values():
                await broker.wait_joined()
            async with trio.open_nursery() as services:
                for service in self._services():
                    services.start_soon(service.start)
            self.ready = True
            self._write_state()
            started(self)

    def shutdown(self) -> None:
        """Ask ``serve`` to stop every broker and return (safe to call at any time)."""
        self._cancel_scope.cancel()

    async def stop_all(self) -> None:
        """Stop the console and the registry, then every broker at once (SIGTERM, wait,
        SIGKILL stragglers)."""
        for service in self._services():
            await service.stop()
        async with trio.open_nursery() as nursery:
            for broker in self.brokers.values():
                nursery.start_soon(broker.stop)

    def _services(self) -> list[ServiceProcess]:
        return [s for s in (self.console, self.schema_registry) if s is not None]

    def _prepare_directory(self) -> None:
        self.layout.data_dir.mkdir(parents=True, exist_ok=True)
        busy = busy_ports(self.layout.all_ports())
        if busy:
            raise SupervisorError(f"ports already in use: {', '.join(map(str, busy))} "
                                  f"(another cluster running? try --base-port)")
        for node_id in self.layout.node_ids:
            self.layout.config_path(node_id).write_text(self.layout.properties_text(node_id))
        self._format_storage()

    def _format_storage(self) -> None:
        """Kafka's ``kafka-storage.sh format``: one cluster id in every broker's
        ``meta.properties`` (the quorum's RPCs carry it; a stranger is refused).
        An existing directory keeps its id (a restarted cluster)."""
        dirs = {n: os.fspath(self.layout.broker(n).log_dir) for n in self.layout.node_ids}
        cluster_id = None
        for log_dir in dirs.values():
            path = os.path.join(log_dir, "meta.properties")
            if os.path.exists(path):
                with open(path, encoding="latin-1") as f:
                    cluster_id = parse_properties(f.read()).get("cluster.id") or cluster_id
        cluster_id = cluster_id or uuid_to_str(random_uuid())
        for node_id, log_dir in dirs.items():
            load_or_create_meta_properties([log_dir], node_id, cluster_id)

    async def _start_proxies(self, nursery: trio.Nursery) -> None:
        for node_id in self.layout.node_ids:
            ports = self.layout.broker(node_id)
            for name, front, back in (("PLAINTEXT", ports.client_port, ports.internal_port),
                                      ("CONTROLLER", ports.controller_port, ports.internal_controller_port)):
                proxy = FrontProxy(f"broker {node_id} {name}", HOST, front, back, node_id,
                                   self.rules, self._identify)
                await nursery.start(proxy.serve)

    def _identify(self, peer_port: int, proxy_port: int) -> int:
        """The node id of the broker that opened this connection, else CLIENT."""
        pids = {b.pid: n for n, b in self.brokers.items() if b.alive()}
        pid = socket_owner.owner_of(peer_port, proxy_port, pids)
        return pids.get(pid, CLIENT)

    # -- faults -------------------------------------------------------------

    def broker(self, node_id: int) -> BrokerProcess:
        if node_id not in self.brokers:
            raise SupervisorError(f"no broker {node_id}: the cluster has brokers 1..{len(self.brokers)}")
        return self.brokers[node_id]

    def _check(self, *node_ids: int) -> None:
        for node_id in node_ids:
            self.broker(node_id)

    def kill(self, node_id: int) -> None:
        """``kill -9``: no flush, no controlled shutdown."""
        self.broker(node_id).kill()
        self._write_state()

    def pause(self, node_id: int) -> None:
        """SIGSTOP: the process freezes; its sockets stay open and silent."""
        broker = self.broker(node_id)
        if not broker.alive():
            raise SupervisorError(f"broker {node_id} is not running")
        broker.pause()
        self._write_state()

    def resume(self, node_id: int) -> None:
        self.broker(node_id).resume()
        self._write_state()

    async def stop_broker(self, node_id: int) -> None:
        """Clean shutdown of one broker (SIGTERM)."""
        await self.broker(node_id).stop()
        self._write_state()

    async def restart(self, node_id: int) -> None:
        """Stop the broker cleanly if it runs, start it again, wait until it has rejoined.

        Rejoined: registered and unfenced, so it answers clients again (after
        ``kill -9`` that takes up to ``broker.session.timeout.ms``: the
        controller holds the old registration until its session expires).
        """
        broker = self.broker(node_id)
        await broker.stop()
        broker.start()
        self._write_state()
        await broker.wait_ready()
        await broker.wait_joined()

    @network_fault
    def cut(self, a: int, b: int) -> None:
        """Partition brokers ``a`` and ``b`` from each other (both directions)."""
        self._check(a, b)
        self.rules.cut_link(a, b)
        self.rules.cut_link(b, a)
        self._write_state()

    @network_fault
    def heal(self, a: int, b: int) -> None:
        self._check(a, b)
        self.rules.heal_link(a, b)
        self.rules.heal_link(b, a)
        self._write_state()

    @network_fault
    def isolate(self, node_id: int) -> None:
        """Cut ``node_id`` off from every other broker (clients still reach it)."""
        for other in self.brokers:
            if other != node_id:
                self.cut(node_id, other)

    @network_fault
    def heal_all(self) -> None:
        for source, destination in list(self.rules.cut):
            self.rules.heal_link(source, destination)
        self._write_state()

    @network_fault
    def cut_client(self, node_id: int) -> None:
        """Clients can no longer reach ``node_id`` (its peers still can)."""
        self.broker(node_id)
        self.rules.cut_link(CLIENT, node_id)
        self._write_state()

    @network_fault
    def heal_client(self, node_id: int) -> None:
        self.broker(node_id)
        self.rules.heal_link(CLIENT, node_id)
        self._write_state()

    @network_fault
    def slow_client(self, node_id: int, delay_ms: float) -> None:
        """Add ``delay_ms`` each way between clients and ``node_id`` (0 removes it)."""
        self.broker(node_id)
        self.rules.set_delay(CLIENT, node_id, delay_ms)
        self._write_state()

    @network_fault
    def slow(self, a: int, b: int, delay_ms: float) -> None:
        """Add ``delay_ms`` to every chunk between ``a`` and ``b`` (0 removes it)."""
        self._check(a, b)
        self.rules.set_delay(a, b, delay_ms)
        self.rules.set_delay(b, a, delay_ms)
        self._write_state()

    # -- state --------------------------------------------------------------

    def state(self) -> dict:
        """The state file's content: where everything is and what is broken."""
        brokers = []
        for node_id, broker in self.brokers.items():
            ports = broker.ports
            brokers.append({
                "node_id": node_id, "pid": broker.pid, "state": broker.state(),
                "client_port": ports.client_port, "controller_port": ports.controller_port,
                "internal_port": ports.internal_port,
                "internal_controller_port": ports.internal_controller_port,
                "metrics_port": ports.metrics_port,
                "log_dir": os.fspath(ports.log_dir),
                "config": os.fspath(self.layout.config_path(node_id)),
                "log": os.fspath(self.layout.log_path(node_id)),
            })
        return {"supervisor_pid": os.getpid(), "control_port": self.control_port, "ready": self.ready,
                "proxies": self.layout.proxies, "base_port": self.layout.base_port, "bootstrap": self.layout.bootstrap,
                "updated_at": time.time(), "brokers": brokers, "faults": self.rules.describe(),
                "console_url": self.console.url if self.console else None,
                "console_pid": self.console.pid if self.console else None,
                "schema_registry_url": self.schema_registry.url if self.schema_registry else None,
                "schema_registry_pid": self.schema_registry.pid if self.schema_registry else None}

    def _write_state(self) -> None:
        text = json.dumps(self.state(), indent=2) + "\n"
        atomic_write(self.layout.state_path, text.encode())

    async def health(self) -> health.ClusterHealth:
        """Metadata from every live, unpaused broker (paused ones count as down)."""
        addresses = {n: (HOST, b.ports.internal_port) for n, b in self.brokers.items()}
        return await health.probe(addresses)

    # -- control channel ----------------------------------------------------

    async def _serve_control(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from minikafka.chaos import control

        await control.serve(self, task_status=task_status)


def main(argv: list[str] | None = None) -> int:
    """``python -m minikafka.chaos.supervisor --dir D --brokers N --base-port P [--no-proxies]
    [--console-port PORT] [--schema-registry-port PORT]``: run detached."""
    import argparse

    from minikafka.config import parse_override

    parser = argparse.ArgumentParser(prog="python -m minikafka.chaos.supervisor")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=9092)
    parser.add_argument("--override", type=parse_override, action="append", default=[])
    parser.add_argument("--no-proxies", dest="proxies", action="store_false")
    parser.add_argument("--console-port", type=int, default=None)
    parser.add_argument("--schema-registry-port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    layout = ClusterLayout(os.path.abspath(args.dir), args.brokers, args.base_port, tuple(args.override),
                           args.proxies, args.console_port, args.schema_registry_port)
    trio.run(run_until_signalled, Supervisor(layout))
    return 0


async def run_until_signalled(supervisor: Supervisor, on_ready=None) -> None:
    """Run ``supervisor`` until SIGINT/SIGTERM or a ``stop`` command.

    Args:
        on_ready: ``await on_ready(supervisor)`` once every broker answers
            (the foreground command prints the addresses there).
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_shutdown_on_signal, supervisor, signals)
            await nursery.start(supervisor.serve)
            if on_ready is not None:
                await on_ready(supervisor)
            await supervisor.stopped.wait()
            nursery.cancel_scope.cancel()


async def _shutdown_on_signal(supervisor: Supervisor, signals) -> None:
    async for signum in signals:
        log.info("received %s; stopping the cluster", signal.Signals(signum).name)
        supervisor.shutdown()


if __name__ == "__main__":
    sys.exit(main())
