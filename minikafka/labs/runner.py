"""Start, check, solve and reset a lab: what ``minikafka lab`` does.

**start** (``minikafka lab start N [--dir ./lab-data] [--base-port 9092]``)
stops the cluster an earlier lab left in ``<dir>/cluster``, deletes that
directory and ``<dir>/work/NN``, and starts a fresh local cluster::

    minikafka cluster start --detach --dir <dir>/cluster --brokers <LAB.brokers>
                            --base-port <P> --override <LAB.overrides>...

With ``--bootstrap-server B`` it starts nothing and uses B instead (the lab
then has no fault toolkit and no broker files); if the same lab was started
on B from the same directory before, its topics and groups are deleted first. Either way it then calls the
lab's ``start(ctx)`` (topics, configs, seed data) and writes ``<dir>/lab.json``:
which lab, its bootstrap server, whether the cluster is the lab's own, and
the topics ``start`` created. ``check``, ``solve`` and ``reset`` read it.

Ports for base port P are the cluster's (``minikafka.chaos.layout``): clients
P, P+1, ...; metrics P+400, ...; the web console 8080 with the default P
(9092), else P+500, so two labs on different base ports never collide.

A one-broker lab gets the settings of Kafka's single-node quickstart
(``offsets.topic.replication.factor=1``, ``transaction.state.log.replication.factor=1``,
``transaction.state.log.min.isr=1``), and every lab gets the quickstart's
``group.initial.rebalance.delay.ms=0``; a lab's own ``overrides`` win.

**check** runs the lab's ``check(ctx, report)`` and returns the ``Report``;
an exception in the check (a topic that does not exist yet, a broker that
does not answer) becomes one MISSING line rather than a traceback.

**solve** runs the lab's ``solve(ctx)``: the reference solution.

**reset** puts the lab back where ``start`` left it: the lab's ``reset(ctx)``
if it has one, else the default (on the lab's own cluster: delete every
topic but the platform's own (``__consumer_offsets``, ``_schemas``), and every consumer group; on a cluster it was
given: delete the topics ``start`` created and the groups whose committed
offsets are all on those topics), then empty ``<dir>/work/NN`` and call
``start(ctx)`` again.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from minikafka.labs.catalog import LabError, LabModule, find
from minikafka.labs.context import LabContext
from minikafka.labs.faults import ClusterFaults
from minikafka.labs.report import Report

DEFAULT_DIR = "./lab-data"
DEFAULT_BASE_PORT = 9092
DEFAULT_CONSOLE_PORT = 8080
DEFAULT_REGISTRY_PORT = 8081
CONSOLE_PORT_OFFSET = 500   # outside the cluster's five 100-wide port blocks
REGISTRY_PORT_OFFSET = 501
CLUSTER_TIMEOUT_S = 120.0
TOPIC_GONE_TIMEOUT_S = 30.0

SINGLE_BROKER_DEFAULTS = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}
EVERY_LAB_DEFAULTS = {"group.initial.rebalance.delay.ms": "0"}


# -- state -------------------------------------------------------------------

def state_path(lab_data_dir: Path) -> Path:
    return Path(lab_data_dir) / "lab.json"


def cluster_dir(lab_data_dir: Path) -> Path:
    return Path(lab_data_dir).resolve() / "cluster"


def work_dir(lab_data_dir: Path, number: int) -> Path:
    return Path(lab_data_dir).resolve() / "work" / f"{number:02d}"


def read_state(lab_data_dir: Path) -> dict | None:
    """``<dir>/lab.json``, or None when no lab was started there."""
    try:
        return json.loads(state_path(lab_data_dir).read_text())
    except (OSError, ValueError):
        return None


def write_state(lab_data_dir: Path, state: dict) -> None:
    path = state_path(lab_data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


def context_from_state(entry: LabModule, lab_data_dir: Path, state: dict) -> LabContext:
    """The ``LabContext`` of a started lab."""
    own = state.get("cluster_dir")
    return LabContext(
        bootstrap_server=state["bootstrap_server"],
        lab_dir=entry.lab_dir,
        work_dir=work_dir(lab_data_dir, entry.lab.number),
        data_dirs=[Path(d) for d in state["data_dirs"]] if state.get("data_dirs") else None,
        cluster=ClusterFaults(Path(own)) if own else None,
        registry_url=state.get("registry_url"),
        metrics_urls=list(state.get("metrics_urls", [])),
        console_url=state.get("console_url"),
    )


def load_started(number: int, lab_data_dir: Path, bootstrap_server: str | None = None
                 ) -> tuple[LabModule, LabContext, dict]:
    """The lab, its context and state, for ``check``/``solve``/``reset``.

    With ``bootstrap_server`` and no matching ``lab.json``, a context on that
    cluster (as after ``lab start N --bootstrap-server``).
    """
    entry = find(number)
    state = read_state(lab_data_dir)
    if state is None or state.get("number") != number:
        if bootstrap_server is None:
            started = f"lab {state['number']} is" if state else "no lab is"
            raise LabError(f"{started} started in {lab_data_dir}: run `minikafka lab start {number}` first")
        state = external_state(number, bootstrap_server, topics=[])
    elif bootstrap_server is not None and bootstrap_server != state["bootstrap_server"]:
        state = external_state(number, bootstrap_server, topics=[])  # another cluster than the lab's
    return entry, context_from_state(entry, lab_data_dir, state), state


def external_state(number: int, bootstrap_server: str, topics: list[str]) -> dict:
    return {"number": number, "bootstrap_server": bootstrap_server, "cluster_dir": None,
            "data_dirs": None, "metrics_urls": [], "console_url": None, "registry_url": None,
            "topics": topics}


# -- the cluster -------------------------------------------------------------

def console_port(base_port: int) -> int:
    """8080 for the default base port, else ``base_port + 500``."""
    return DEFAULT_CONSOLE_PORT if base_port == DEFAULT_BASE_PORT else base_port + CONSOLE_PORT_OFFSET


def registry_port(base_port: int) -> int:
    """8081 for the default base port, else ``base_port + 501``."""
    return DEFAULT_REGISTRY_PORT if base_port == DEFAULT_BASE_PORT else base_port + REGISTRY_PORT_OFFSET


def broker_overrides(entry: LabModule) -> dict[str, str]:
    """The lab's ``server.properties`` keys over the labs' defaults (module docstring)."""
    values = dict(EVERY_LAB_DEFAULTS)
    if entry.lab.brokers == 1:
        values.update(SINGLE_BROKER_DEFAULTS)
    values.update({key: _property(value) for key, value in entry.lab.overrides.items()})
    return values


def _property(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def minikafka(*argv: str, timeout_s: float = CLUSTER_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run ``minikafka ARGV`` in a child process with this process's minikafka importable."""
    env = LabContext("", Path("."), Path(".")).environment()
    return subprocess.run([sys.executable, "-m", "minikafka", *argv], capture_output=True, text=True,
                          env=env, timeout=timeout_s)


def _has_schema_registry() -> bool:
    """Whether this minikafka has the schema registry (and ``cluster start`` its options)."""
    return importlib.util.find_spec("minikafka.registry.server") is not None


def start_cluster(entry: LabModule, lab_data_dir: Path, base_port: int, out=print) -> dict:
    """Start the lab's detached local cluster in ``<dir>/cluster``; return its ``cluster.json``."""
    directory = cluster_dir(lab_data_dir)
    command = ["cluster", "start", "--detach", "--dir", str(directory), "--brokers", str(entry.lab.brokers),
               "--base-port", str(base_port), "--console-port", str(console_port(base_port))]
    for key, value in broker_overrides(entry).items():
        command += ["--override", f"{key}={value}"]
    if _has_schema_registry():
        if entry.lab.needs_schema_registry:
            command += ["--schema-registry-port", str(registry_port(base_port))]
        else:
            command.append("--no-schema-registry")  # one process less for labs without schemas
    out(f"starting a {entry.lab.brokers}-broker cluster: minikafka {' '.join(command)}")
    result = minikafka(*command)
    if result.returncode != 0:
        raise LabError(f"the cluster did not start: {(result.stderr or result.stdout).strip()}")
    out(result.stdout.rstrip())
    return json.loads((directory / "cluster.json").read_text())


def stop_cluster(lab_data_dir: Path, out=print) -> bool:
    """Stop the cluster in ``<dir>/cluster`` if one runs there; True if one did."""
    directory = cluster_dir(lab_data_dir)
    if not (directory / "cluster.json").exists():
        return False
    result = minikafka("cluster", "stop", "--dir", str(directory))
    if result.returncode != 0:
        raise LabError(f"could not stop the cluster in {directory}: {(result.stderr or result.stdout).strip()}")
    out(result.stdout.rstrip())
    return True


def cluster_state(entry: LabModule, cluster: dict, base_port: int) -> dict:
    """``lab.json``'s fields for a cluster the lab started."""
    return {
        "number": entry.lab.number,
        "bootstrap_server": cluster["bootstrap"],
        "cluster_dir": str(cluster_dir_of(cluster)),
        "base_port": base_port,
        "data_dirs": [b["log_dir"] for b in cluster["brokers"]],
        "metrics_urls": [f"http://127.0.0.1:{b['metrics_port']}/metrics" for b in cluster["brokers"]
                         if b.get("metrics_port")],
        "console_url": cluster.get("console_url"),
        "registry_url": cluster.get("schema_registry_url"),
        "topics": [],
    }


def cluster_dir_of(cluster: dict) -> Path:
    return Path(cluster["brokers"][0]["log_dir"]).parent


# -- the commands ------------------------------------------------------------

def start(number: int, lab_data_dir: Path, bootstrap_server: str | None = None,
          base_port: int = DEFAULT_BASE_PORT, out=print) -> LabContext:
    """``lab start N``: a fresh cluster (or the given one), then the lab's ``start(ctx)``."""
    entry = find(number)
    lab_data_dir = Path(lab_data_dir)
    previous = read_state(lab_data_dir)
    stop_cluster(lab_data_dir, out)
    shutil.rmtree(cluster_dir(lab_data_dir), ignore_errors=True)
    shutil.rmtree(work_dir(lab_data_dir, number), ignore_errors=True)
    state_path(lab_data_dir).unlink(missing_ok=True)
    if bootstrap_server is None:
        state = cluster_state(entry, start_cluster(entry, lab_data_dir, base_port, out), base_port)
    else:
        if entry.lab.needs_fault_toolkit:
            out(f"note: lab {number} breaks brokers with the local cluster's fault toolkit; "
                "on --bootstrap-server those steps are yours to do by hand")
        state = external_state(number, bootstrap_server, topics=[])
    ctx = context_from_state(entry, lab_data_dir, state)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    if bootstrap_server is not None and _same_external_lab(previous, number, bootstrap_server):
        default_reset(ctx, previous, out)  # started here before: its topics are still there
    before = set(_list_topics(ctx))
    entry.module.start(ctx)
    state["topics"] = sorted(set(_list_topics(ctx)) - before)
    write_state(lab_data_dir, state)
    out(f"lab {number} ({entry.lab.title}) started: bootstrap server {ctx.bootstrap_server}")
    out(f"read {entry.readme}; `minikafka lab check {number}` says what is done and what is missing")
    return ctx


def _same_external_lab(previous: dict | None, number: int, bootstrap_server: str) -> bool:
    return bool(previous) and previous.get("number") == number and not previous.get("cluster_dir") \
        and previous.get("bootstrap_server") == bootstrap_server


def check(number: int, lab_data_dir: Path, bootstrap_server: str | None = None) -> Report:
    """``lab check N``: the lab's check, as a ``Report`` (an exception becomes a MISSING line)."""
    entry, ctx, _ = load_started(number, Path(lab_data_dir), bootstrap_server)
    report = Report()
    try:
        entry.module.check(ctx, report)
    except Exception as exc:  # a student's half-done lab must not end in a traceback
        report.missing(f"the check could not finish: {_describe(exc)}",
                       hint="is the cluster running? `minikafka lab start` starts it again")
    return report


def solve(number: int, lab_data_dir: Path, bootstrap_server: str | None = None) -> None:
    """``lab solve N``: run the reference solution."""
    entry, ctx, _ = load_started(number, Path(lab_data_dir), bootstrap_server)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    entry.module.solve(ctx)


def reset(number: int, lab_data_dir: Path, bootstrap_server: str | None = None, out=print) -> None:
    """``lab reset N``: undo what the lab and the student did, then ``start(ctx)`` again."""
    lab_data_dir = Path(lab_data_dir)
    entry, ctx, state = load_started(number, lab_data_dir, bootstrap_server)
    custom = getattr(entry.module, "reset", None)
    if callable(custom):
        custom(ctx)
    else:
        default_reset(ctx, state, out)
    shutil.rmtree(ctx.work_dir, ignore_errors=True)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    before = set(_list_topics(ctx))
    entry.module.start(ctx)
    state["topics"] = sorted(set(state.get("topics", [])) | (set(_list_topics(ctx)) - before))
    write_state(lab_data_dir, state)
    out(f"lab {number} reset: back where `minikafka lab start {number}` left it")


def default_reset(ctx: LabContext, state: dict, out=print) -> None:
    """Delete the lab's topics and groups (every one on the lab's own cluster)."""
    own = bool(state.get("cluster_dir"))
    with ctx.admin() as admin:
        # Names starting with "_" belong to the platform (__consumer_offsets, _schemas).
        topics = ([t for t in admin.list_topics() if not t.startswith("_")] if own
                  else list(state.get("topics", [])))
        groups = _lab_groups(admin, own, set(topics))
        if groups:
            admin.delete_consumer_groups(groups)
            out(f"deleted groups: {', '.join(sorted(groups))}")
        existing = set(admin.list_topics())
        topics = [t for t in topics if t in existing]
        if topics:
            admin.delete_topics(topics)
            _wait_topics_gone(admin, set(topics))
            out(f"deleted topics: {', '.join(sorted(topics))}")


def _lab_groups(admin, own: bool, topics: set[str]) -> list[str]:
    groups = [g.group_id for g in admin.list_consumer_groups()]
    if own:
        return groups
    mine = []
    for group in groups:
        offsets = admin.list_consumer_group_offsets(group)
        if offsets and all(topic in topics for topic, _ in offsets):
            mine.append(group)
    return mine


def _wait_topics_gone(admin, topics: set[str]) -> None:
    deadline = time.monotonic() + TOPIC_GONE_TIMEOUT_S
    while topics & set(admin.list_topics()):
        if time.monotonic() > deadline:
            raise LabError(f"topics still there after deletion: {', '.join(sorted(topics))}")
        time.sleep(0.2)


def _list_topics(ctx: LabContext) -> list[str]:
    with ctx.admin() as admin:
        return admin.list_topics()


def stop(lab_data_dir: Path, out=print) -> None:
    """``lab stop``: stop the lab's own cluster (a given one is left alone)."""
    if not stop_cluster(Path(lab_data_dir), out):
        out(f"no lab cluster running in {lab_data_dir}")


def _describe(exc: BaseException) -> str:
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]
    message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "code", None)
    name = getattr(code, "name", None)
    return f"{message} ({name})" if name and message else (name or message or type(exc).__name__)
