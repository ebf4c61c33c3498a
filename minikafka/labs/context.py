"""``LabContext``: everything a lab's ``start``, ``check`` and ``solve`` may use.

A lab runs against a cluster that ``minikafka lab start`` either started
(a detached local cluster in ``<dir>/cluster``) or was given
(``--bootstrap-server``). The context hides the difference where it can and
says where it cannot:

- ``bootstrap_server``: always set; every client and tool uses it.
- ``data_dirs``: the brokers' ``log.dirs`` (``<dir>/cluster/broker-N``) when
  the lab started the cluster, so a check can read segment files; None on a
  cluster it was given (whose disks it cannot see).
- ``cluster``: the fault toolkit (``ClusterFaults``: kill, pause, cut, slow...)
  of the lab's own cluster; None on ``--bootstrap-server``.
- ``work_dir``: ``<dir>/work/NN``, where the student's programs write their
  output files and where a check reads them.

Clients: ``admin()``, ``producer(...)`` and ``consumer(...)`` return the
bundled blocking clients (``minikafka_clients``) configured with the lab's
bootstrap server; use them in a ``with`` block so they close.
``run("topics", "describe", ...)`` runs a ``minikafka`` subcommand and
``run("labs/../x.py", ...)`` / ``run_solution("x")`` a Python script, each
with ``--bootstrap-server`` added, as the student would type them.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from minikafka.labs.faults import ClusterFaults

# minikafka subcommands that take no --bootstrap-server (they read files or a
# cluster directory, or take it elsewhere).
NO_BOOTSTRAP_COMMANDS = {"dump-log", "cluster", "lab", "broker", "schemas", "schema-registry"}
RUN_TIMEOUT_S = 120.0


@dataclasses.dataclass
class LabContext:
    """The cluster and directories of one started lab (built by the runner).

    Owned by one ``lab`` command; the clients it opens belong to the caller.
    """

    bootstrap_server: str
    lab_dir: Path
    work_dir: Path
    data_dirs: list[Path] | None = None
    cluster: ClusterFaults | None = None
    registry_url: str | None = None
    metrics_urls: list[str] = dataclasses.field(default_factory=list)
    console_url: str | None = None

    # -- clients -----------------------------------------------------------

    def admin(self, config: dict | None = None, /, **cfg):
        """A ``SyncAdmin`` on the lab's cluster (``with ctx.admin() as admin: ...``)."""
        from minikafka_clients import SyncAdmin

        return SyncAdmin(self._config(config, cfg))

    def producer(self, config: dict | None = None, /, **cfg):
        """A ``SyncProducer``: ``ctx.producer({"acks": "all", "enable.idempotence": True})``."""
        from minikafka_clients import SyncProducer

        return SyncProducer(self._config(config, cfg))

    def consumer(self, config: dict | None = None, /, **cfg):
        """A ``SyncConsumer``: ``ctx.consumer({"group.id": "g", "auto.offset.reset": "earliest"})``."""
        from minikafka_clients import SyncConsumer

        return SyncConsumer(self._config(config, cfg))

    def read_records(self, topic: str, partitions: list[int] | None = None, *,
                     idle_s: float = 1.0, timeout_s: float = 30.0) -> list:
        """Every record of ``topic`` (or of some partitions), oldest first per partition.

        Reads from the beginning without a group until no record arrived for
        ``idle_s``. Counting by reading, rather than from ListOffsets' end
        offsets, holds on every Kafka-compatible broker (and counts records,
        not offsets: a compacted or transactional log has gaps).
        """
        with self.consumer({"enable.auto.commit": False}) as consumer:
            numbers = partitions if partitions is not None else consumer.partitions_for(topic)
            return _drain(consumer, [(topic, p) for p in numbers], idle_s, timeout_s)

    def read_topics(self, topics: list[str], *, idle_s: float = 1.0, timeout_s: float = 30.0
                    ) -> dict[str, list]:
        """``read_records`` of several topics at once (one wait for the end): ``{topic: records}``."""
        with self.consumer({"enable.auto.commit": False}) as consumer:
            partitions = [(topic, p) for topic in topics for p in consumer.partitions_for(topic)]
            records = _drain(consumer, partitions, idle_s, timeout_s)
        return {topic: [r for r in records if r.topic == topic] for topic in topics}

    def _config(self, config: dict | None, cfg: dict) -> dict:
        return {"bootstrap.servers": self.bootstrap_server, **(config or {}), **cfg}

    # -- commands and scripts ----------------------------------------------

    def run(self, *argv: str, check: bool = True, input: str | None = None,
            timeout_s: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
        """Run ``minikafka ARGV...`` or ``python SCRIPT.py ARGS...`` and capture its output.

        ``--bootstrap-server`` is added unless present (or the subcommand takes
        none). A relative script path is looked up in the lab's directory
        first, then in the current one. The output is text.

        Raises:
            subprocess.CalledProcessError: ``check`` and a non-zero exit status
                (its ``stderr`` says why).
        """
        argv = [str(arg) for arg in argv]
        if argv and argv[0].endswith(".py"):
            command = [sys.executable, str(self._script(argv[0])), *argv[1:]]
            needs_bootstrap = True
        else:
            command = [sys.executable, "-m", "minikafka", *argv]
            needs_bootstrap = bool(argv) and argv[0] not in NO_BOOTSTRAP_COMMANDS
        if needs_bootstrap and "--bootstrap-server" not in argv:
            command += ["--bootstrap-server", self.bootstrap_server]
        return subprocess.run(command, check=check, capture_output=True, text=True, input=input,
                              env=self.environment(), timeout=timeout_s)

    def run_solution(self, name: str, *args: str, check: bool = True,
                     input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``solution/NAME.py --bootstrap-server B ARGS...`` of this lab."""
        script = name if name.endswith(".py") else f"{name}.py"
        return self.run(str(self.lab_dir / "solution" / script), *args, check=check, input=input)

    def _script(self, path: str) -> Path:
        script = Path(path)
        if script.is_absolute():
            return script
        in_lab = self.lab_dir / script
        return in_lab if in_lab.exists() else script.resolve()

    def environment(self) -> dict[str, str]:
        """The environment of ``run``: this one, with minikafka and its clients importable.

        A source checkout has the bundled clients in ``clients/``, not on
        ``sys.path``; a child process gets both on ``PYTHONPATH`` so scripts
        import the same minikafka as the command that runs them.
        """
        import minikafka
        import minikafka_clients

        paths = [str(Path(minikafka.__file__).resolve().parents[1]),
                 str(Path(minikafka_clients.__file__).resolve().parents[1])]
        existing = os.environ.get("PYTHONPATH")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(paths + ([existing] if existing else []))
        return env

    # -- files ---------------------------------------------------------------

    def partition_dirs(self, topic: str, partition: int) -> list[Path]:
        """``<log.dirs>/<topic>-<partition>`` on every broker that has a copy (needs ``data_dirs``)."""
        if self.data_dirs is None:
            return []
        return [d / f"{topic}-{partition}" for d in self.data_dirs if (d / f"{topic}-{partition}").is_dir()]


def _drain(consumer, partitions: list[tuple[str, int]], idle_s: float, timeout_s: float) -> list:
    """Every record of ``partitions`` from the beginning, until none arrived for ``idle_s``."""
    import time

    consumer.assign(partitions)
    consumer.seek_to_beginning()
    records = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = consumer.poll(idle_s)
        if not batch:
            break
        records.extend(batch)
    return records
