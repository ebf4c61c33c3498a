"""``minikafka cluster``: start a local N-broker cluster, inspect it, break it.

::

    minikafka cluster start [--brokers 3] [--dir ./cluster-data] [--base-port 9092] [--detach]
                            [--no-proxies] [--console-port 8080 | --no-console]
                            [--schema-registry-port 8081 | --no-schema-registry]
    minikafka cluster status              # brokers, metrics endpoints, throttled clients, partitions
    minikafka cluster kill 2              # kill -9
    minikafka cluster pause 2 / resume 2  # SIGSTOP / SIGCONT
    minikafka cluster restart 2           # clean stop, start again, wait until it answers
    minikafka cluster cut 1 3 / heal 1 3  # network partition between two brokers
    minikafka cluster cut-client 2 / heal-client 2
    minikafka cluster slow 1 3 --delay-ms 200
    minikafka cluster slow-client 2 --delay-ms 200
    minikafka cluster stop

``start`` writes ``<dir>/broker-N.properties`` (Kafka's KRaft combined-mode
keys: ``process.roles=broker,controller``, ``controller.quorum.voters``, ...),
starts one ``minikafka broker --config`` process per broker, and waits until
each answers ApiVersions. Ports, for ``--base-port`` P: clients use P, P+1,
...; the quorum uses P+100, P+101, ...; both are proxies in front of the
brokers' real listeners on P+200.. and P+300.. (``minikafka.chaos.layout``),
which is how ``cut`` and ``slow`` work without root (``minikafka.chaos.proxy``).

``--no-proxies`` starts the brokers on P.. and P+100.. themselves, with nothing
in between: the proxies copy every byte in Python, which costs more CPU than
a broker's replication on a small machine, so benchmarks use this mode. The
process faults (``kill``, ``pause``, ``restart``, ...) still work; ``cut``,
``heal``, ``slow`` and the other network faults answer that they are not
available. ``cluster.json`` records the mode (``"proxies": false``).

In the foreground, ``start`` prints the addresses and a health line and runs
until Ctrl-C, then stops every broker (SIGTERM, wait, SIGKILL stragglers).
With ``--detach`` a background supervisor runs the cluster and ``start``
returns; ``<dir>/cluster.json`` records its pids and ports, and the other
commands talk to the supervisor through its control port (``minikafka.chaos.control``).

The cluster comes with its web console (``minikafka console``) at
http://127.0.0.1:8080: a live view of brokers, partitions, groups and
events, with buttons for the faults below. ``--console-port`` moves it,
``--no-console`` leaves it out; ``status`` prints its address.

It also comes with a schema registry (``minikafka schema-registry``) at
http://127.0.0.1:8081, Confluent's port, keeping its schemas in the cluster's
``_schemas`` topic. ``--schema-registry-port`` moves it,
``--no-schema-registry`` leaves it out; ``status`` prints its address.

Each broker serves Prometheus metrics on its own port (P+400, P+401, ...;
``metrics.http.listener``). ``status`` prints each broker's endpoint and
scrapes it for the clients the broker is throttling now: a client quota
sensor whose ``kafka_server_<type>_throttle_time`` (the average throttle time
over the quota window) is above zero.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DIR = "./cluster-data"
DEFAULT_CONSOLE_PORT = 8080
DEFAULT_SCHEMA_REGISTRY_PORT = 8081  # Confluent's
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
SCRAPE_TIMEOUT_S = 2.0
THROTTLE_SUFFIX = "_throttle_time"


class ClusterCommandError(Exception):
    """A one-line failure of a ``cluster`` command."""


# -- the parser ----------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    from minikafka.config import parse_override

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, summary: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=summary, description=summary)
        sub.add_argument("--dir", default=DEFAULT_DIR,
                         help=f"the cluster directory (default {DEFAULT_DIR})")
        return sub

    start = action("start", "start N brokers; Ctrl-C stops them (or --detach)")
    start.add_argument("--brokers", type=int, default=3, help="how many brokers (default 3)")
    start.add_argument("--base-port", type=int, default=9092,
                       help="client port of broker 1; broker N uses base+N-1 (default 9092)")
    start.add_argument("--detach", action="store_true",
                       help="return once the cluster is up; `cluster stop` stops it")
    start.add_argument("--override", metavar="KEY=VALUE", type=parse_override, action="append",
                       default=[], help="a server.properties key for every broker; repeatable")
    start.add_argument("--no-proxies", dest="proxies", action="store_false",
                       help="no front proxies: clients and brokers reach the brokers' own listeners "
                            "(less CPU per byte, for benchmarks); cut/heal/slow are then unavailable")
    start.add_argument("--console-port", type=int, default=DEFAULT_CONSOLE_PORT, metavar="PORT",
                       help=f"serve the web console on http://127.0.0.1:PORT (default {DEFAULT_CONSOLE_PORT})")
    start.add_argument("--no-console", dest="console_port", action="store_const", const=None,
                       help="start no web console")
    start.add_argument("--schema-registry-port", type=int, default=DEFAULT_SCHEMA_REGISTRY_PORT,
                       metavar="PORT", help="serve the schema registry on http://127.0.0.1:PORT "
                                            f"(default {DEFAULT_SCHEMA_REGISTRY_PORT})")
    start.add_argument("--no-schema-registry", dest="schema_registry_port", action="store_const",
                       const=None, help="start no schema registry")
    action("status", "brokers alive/dead/paused, controller, partition leaders and health")
    action("stop", "stop every broker cleanly and the supervisor")
    for name, summary in (("kill", "kill -9 one broker"),
                          ("pause", "freeze one broker (SIGSTOP)"),
                          ("resume", "unfreeze a paused broker (SIGCONT)"),
                          ("restart", "stop one broker cleanly and start it again"),
                          ("isolate", "cut one broker off from all its peers"),
                          ("cut-client", "clients can no longer reach this broker"),
                          ("heal-client", "clients can reach this broker again")):
        action(name, summary).add_argument("broker", type=int, metavar="BROKER", help="node.id")
    for name, summary in (("cut", "partition the network between two brokers"),
                          ("heal", "undo `cut` between two brokers")):
        sub = action(name, summary)
        sub.add_argument("a", type=int, metavar="A", help="node.id")
        sub.add_argument("b", type=int, metavar="B", help="node.id")
    slow = action("slow", "add latency between two brokers (--delay-ms 0 removes it)")
    slow.add_argument("a", type=int, metavar="A")
    slow.add_argument("b", type=int, metavar="B")
    slow.add_argument("--delay-ms", type=float, required=True, help="added one-way delay")
    slow_client = action("slow-client", "add latency between clients and one broker")
    slow_client.add_argument("broker", type=int, metavar="BROKER")
    slow_client.add_argument("--delay-ms", type=float, required=True, help="added one-way delay")
    action("heal-all", "undo every cut")


def run(args: argparse.Namespace) -> int:
    if args.action == "start":
        return start_detached(args) if args.detach else start_foreground(args)
    if args.action == "status":
        return status(Path(args.dir))
    if args.action == "stop":
        return stop(Path(args.dir))
    return fault(args)


# -- start ---------------------------------------------------------------------

def _layout(args):
    from minikafka.chaos.layout import ClusterLayout

    try:
        return ClusterLayout(Path(args.dir).resolve(), args.brokers, args.base_port, tuple(args.override),
                             args.proxies, args.console_port, args.schema_registry_port)
    except ValueError as exc:
        raise ClusterCommandError(str(exc)) from None


def start_foreground(args: argparse.Namespace) -> int:
    import trio

    from minikafka.chaos.supervisor import Supervisor, run_until_signalled

    layout = _layout(args)
    _refuse_if_running(layout.data_dir)

    async def on_ready(supervisor) -> None:
        health = await supervisor.health()
        print_banner(supervisor.state(), layout.data_dir, health.summary_line())
        print("Press Ctrl-C to stop the cluster.", flush=True)

    trio.run(run_until_signalled, Supervisor(layout), on_ready)
    print("cluster stopped", flush=True)
    return 0


def start_detached(args: argparse.Namespace) -> int:
    layout = _layout(args)
    _refuse_if_running(layout.data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    layout.state_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "minikafka.chaos.supervisor", "--dir", os.fspath(layout.data_dir),
               "--brokers", str(layout.brokers), "--base-port", str(layout.base_port)]
    for key, value in args.override:
        command += ["--override", f"{key}={value}"]
    if not layout.proxies:
        command.append("--no-proxies")
    if layout.console_port:
        command += ["--console-port", str(layout.console_port)]
    if layout.schema_registry_port:
        command += ["--schema-registry-port", str(layout.schema_registry_port)]
    log_path = layout.data_dir / "supervisor.log"
    with open(log_path, "ab") as log_file:
        daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    state = _wait_until_ready(layout.state_path, daemon, log_path)
    print_banner(state, layout.data_dir, _health(state).summary_line())
    print(f"Detached. `minikafka cluster stop --dir {layout.data_dir}` stops it.", flush=True)
    return 0


def _wait_until_ready(state_path: Path, daemon: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise ClusterCommandError(f"the cluster did not start: {_last_error(log_path)}")
        state = _read_state(state_path)
        if state and state["supervisor_pid"] == daemon.pid and state.get("ready"):
            return state
        time.sleep(0.1)
    daemon.send_signal(signal.SIGTERM)
    raise ClusterCommandError(f"the cluster did not start within {START_TIMEOUT_S:.0f} s; see {log_path}")


def _last_error(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"see {log_path}"


def _refuse_if_running(data_dir: Path) -> None:
    state = _read_state(data_dir / "cluster.json")
    if state and process_state(state["supervisor_pid"]) != "dead":
        raise ClusterCommandError(f"a cluster is already running in {data_dir} (supervisor pid "
                                  f"{state['supervisor_pid']}); `minikafka cluster stop --dir {data_dir}` first")


def print_banner(state: dict, data_dir: Path, health_line: str) -> None:
    print(f"minikafka cluster: {len(state['brokers'])} brokers in {data_dir} "
          f"(supervisor pid {state['supervisor_pid']}, control port {state['control_port']}, "
          f"{describe_mode(state)})")
    for broker in state["brokers"]:
        metrics = f", metrics {metrics_url(broker['metrics_port'])}" if broker.get("metrics_port") else ""
        print(f"  broker {broker['node_id']}: 127.0.0.1:{broker['client_port']} "
              f"(controller port {broker['controller_port']}, pid {broker['pid']}{metrics}, log {broker['log']})")
    print(f"bootstrap.servers={state['bootstrap']}")
    print(console_line(state))
    print(schema_registry_line(state))
    print(f"health: {health_line}", flush=True)


def console_line(state: dict) -> str:
    """``console: http://127.0.0.1:8080``, or why there is none."""
    url = state.get("console_url")
    return f"console: {url}" if url else "console: none (--no-console, or its port was taken: see console.log)"


def schema_registry_line(state: dict) -> str:
    """``schema registry: http://127.0.0.1:8081``, or why there is none."""
    url = state.get("schema_registry_url")
    return (f"schema registry: {url}" if url else
            "schema registry: none (--no-schema-registry, or it could not start: see schema-registry.log)")


# -- status and stop -----------------------------------------------------------

def _read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _require_state(data_dir: Path) -> dict:
    state = _read_state(data_dir / "cluster.json")
    if state is None:
        raise ClusterCommandError(f"no cluster running in {data_dir} (no cluster.json); "
                                  f"start one with `minikafka cluster start --dir {data_dir}`")
    return state


def process_state(pid: int | None) -> str:
    """``alive``, ``paused`` (SIGSTOPped) or ``dead``, from ``/proc`` (or ``kill -0``)."""
    if not pid:
        return "dead"
    try:
        with open(f"/proc/{pid}/stat") as f:
            code = f.read().rsplit(")", 1)[1].split()[0]
        return {"Z": "dead", "X": "dead", "T": "paused", "t": "paused"}.get(code, "alive")
    except FileNotFoundError:
        return "dead"
    except OSError:
        try:
            os.kill(pid, 0)
            return "alive"
        except ProcessLookupError:
            return "dead"
        except PermissionError:
            return "alive"


def _health(state: dict):
    import trio

    from minikafka.chaos import health

    addresses = {b["node_id"]: ("127.0.0.1", b["internal_port"]) for b in state["brokers"]}
    return trio.run(health.probe, addresses)


def status(data_dir: Path) -> int:
    state = _require_state(data_dir)
    supervisor_running = process_state(state["supervisor_pid"]) != "dead"
    if supervisor_running:
        from minikafka.chaos.control import ControlError, send_command

        try:
            state = send_command(state["control_port"], "state", timeout_s=10)
        except ControlError:
            pass  # fall back to the file and /proc
    health = _health(state)
    proxies = state.get("proxies", True)  # state files older than direct mode had proxies
    lost = "proxies down: clients cannot connect" if proxies else "faults and restarts unavailable"
    print(f"cluster in {data_dir}: supervisor pid {state['supervisor_pid']} "
          f"{'running' if supervisor_running else f'NOT RUNNING ({lost})'}, {describe_mode(state)}")
    for broker in state["brokers"]:
        node_id = broker["node_id"]
        process = process_state(broker["pid"])
        answers = "answers Metadata" if health.answered.get(node_id) else "does not answer"
        pid = f"pid {broker['pid']}" if process != "dead" else "no process"
        print(f"  broker {node_id}  127.0.0.1:{broker['client_port']}  {process:<6}  {pid:<10}  {answers}")
        if broker.get("metrics_port"):  # state files of older clusters have none
            print("\n".join(metrics_lines(broker["metrics_port"], scrape=process == "alive")))
    print(console_line(state))
    print(schema_registry_line(state))
    print(f"faults: {describe_faults(state.get('faults', {}))}")
    print(f"health: {health.summary_line()}")
    lines = health.topic_lines()
    if lines:
        print("partitions:")
        print("\n".join(lines))
    return 0


def metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


def metrics_lines(port: int, scrape: bool = True) -> list[str]:
    """A broker's ``metrics:`` line and, if ``scrape``, its ``throttling:`` line."""
    lines = [f"    metrics: {metrics_url(port)}"]
    if scrape:
        try:
            throttled = throttled_clients(scrape_metrics(port))
        except (OSError, ValueError) as exc:
            lines.append(f"    throttling: unknown (the metrics endpoint did not answer: {exc})")
        else:
            lines.append(f"    throttling: {'; '.join(throttled) or 'none'}")
    return lines


def scrape_metrics(port: int) -> str:
    """``GET /metrics`` of a broker's Prometheus endpoint (raises ``OSError``)."""
    import urllib.request

    with urllib.request.urlopen(metrics_url(port), timeout=SCRAPE_TIMEOUT_S) as response:
        return response.read().decode("utf-8")


def throttled_clients(text: str) -> list[str]:
    """``produce user=ANONYMOUS client_id=app 250 ms``, one per client quota sensor throttling now.

    Reads the ``kafka_server_<type>_throttle_time`` gauges (Kafka's average
    ``throttle-time`` per user/client-id) of a Prometheus text exposition.
    """
    from prometheus_client.parser import text_string_to_metric_families

    throttled = []
    for family in text_string_to_metric_families(text):
        if not (family.name.startswith("kafka_server_") and family.name.endswith(THROTTLE_SUFFIX)):
            continue
        kind = family.name[len("kafka_server_"):-len(THROTTLE_SUFFIX)]
        for sample in family.samples:
            if sample.value > 0:
                labels = sample.labels
                throttled.append(f"{kind} user={labels.get('user', '')} client_id={labels.get('client_id', '')} "
                                 f"{sample.value:.0f} ms")
    return throttled


def describe_mode(state: dict) -> str:
    """``with proxies`` or ``no proxies (direct)``, from the state file."""
    return "with proxies" if state.get("proxies", True) else "no proxies (direct)"


def describe_faults(faults: dict) -> str:
    """``cut 1<->2; cut-client 3; slow 1<->3 200 ms`` (each symmetric pair once)."""
    parts = []
    for source, destination in faults.get("cut", []):
        if source == 0:
            parts.append(f"cut-client {destination}")
        elif source < destination:
            parts.append(f"cut {source}<->{destination}")
    for source, destination, delay_ms in faults.get("slow", []):
        if source == 0:
            parts.append(f"slow-client {destination} {delay_ms:g} ms")
        elif source < destination:
            parts.append(f"slow {source}<->{destination} {delay_ms:g} ms")
    return "; ".join(parts) or "none"


def stop(data_dir: Path) -> int:
    from minikafka.chaos.control import ControlError, send_command

    state = _require_state(data_dir)
    supervisor_pid = state["supervisor_pid"]
    if process_state(supervisor_pid) != "dead":
        try:
            send_command(state["control_port"], "stop", timeout_s=10)
        except ControlError:
            os.kill(supervisor_pid, signal.SIGTERM)  # same clean path as the command
        if not _wait_dead(supervisor_pid, STOP_TIMEOUT_S):
            raise ClusterCommandError(f"the supervisor (pid {supervisor_pid}) did not stop "
                                      f"within {STOP_TIMEOUT_S:.0f} s")
    _stop_orphans(state)
    (data_dir / "cluster.json").unlink(missing_ok=True)
    print(f"cluster in {data_dir} stopped")
    return 0


def _stop_orphans(state: dict) -> None:
    """Brokers (the console, the registry) left by a supervisor that was itself killed:
    SIGTERM, then SIGKILL."""
    services = [{"pid": state.get("console_pid")}, {"pid": state.get("schema_registry_pid")}]
    pids = [b["pid"] for b in state["brokers"] + services if process_state(b["pid"]) != "dead"]
    for pid in pids:
        _signal(pid, signal.SIGCONT)
        _signal(pid, signal.SIGTERM)
    for pid in pids:
        if not _wait_dead(pid, 15.0):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process_state(pid) == "dead":
            return True
        time.sleep(0.05)
    return False


# -- faults --------------------------------------------------------------------

FAULT_MESSAGES = {
    "kill": "broker {0} killed (SIGKILL)",
    "pause": "broker {0} paused (SIGSTOP)",
    "resume": "broker {0} resumed (SIGCONT)",
    "restart": "broker {0} restarted and answering",
    "isolate": "broker {0} cut off from every other broker",
    "cut-client": "clients cut off from broker {0}",
    "heal-client": "clients can reach broker {0} again",
    "cut": "network cut between brokers {0} and {1}",
    "heal": "network between brokers {0} and {1} healed",
    "slow": "{2:g} ms added between brokers {0} and {1}",
    "slow-client": "{1:g} ms added between clients and broker {0}",
    "heal-all": "every cut healed",
}


def fault(args: argparse.Namespace) -> int:
    from minikafka.chaos.control import ControlError, send_command

    data_dir = Path(args.dir)
    state = _require_state(data_dir)
    if process_state(state["supervisor_pid"]) == "dead":
        raise ClusterCommandError(f"the cluster supervisor (pid {state['supervisor_pid']}) is not running")
    if args.action in ("cut", "heal", "slow"):
        values = [args.a, args.b] + ([args.delay_ms] if args.action == "slow" else [])
    elif args.action == "slow-client":
        values = [args.broker, args.delay_ms]
    elif args.action == "heal-all":
        values = []
    else:
        values = [args.broker]
    try:
        send_command(state["control_port"], args.action, *values)
    except ControlError as exc:
        raise ClusterCommandError(str(exc)) from None
    print(FAULT_MESSAGES[args.action].format(*values))
    return 0
