"""``minikafka lab``: the teaching labs, each on a fresh local cluster.

::

    minikafka lab list                  # the labs, with what each needs
    minikafka lab show 1                # where lab 1 is, and its README
    minikafka lab start 1               # fresh cluster in ./lab-data/cluster, lab 1's topics
    minikafka lab check 1               # PASS / MISSING lines; exit 1 while anything is missing
    minikafka lab solve 1               # run the reference solution
    minikafka lab reset 1               # undo what you did, back to where start left it
    minikafka lab stop                  # stop the lab's cluster

Options of every action: ``--dir`` (default ``./lab-data``, or
``$MINIKAFKA_LAB_DIR``): where the lab keeps its cluster, its state
(``lab.json``) and your output files (``work/NN``); ``--bootstrap-server
HOST:PORT``: use that cluster (any Kafka) instead of starting one;
``--base-port P`` (start only; default 9092, or ``$MINIKAFKA_LAB_BASE_PORT``):
the local cluster's first client port, so a lab can run beside another
cluster. ``minikafka.labs`` has the details.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DIR_ENV = "MINIKAFKA_LAB_DIR"
BASE_PORT_ENV = "MINIKAFKA_LAB_BASE_PORT"
DEFAULT_DIR = "./lab-data"
DEFAULT_BASE_PORT = 9092


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, summary: str, number: bool = True) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=summary, description=summary)
        if number:
            sub.add_argument("number", type=int, metavar="N", help="the lab's number")
        sub.add_argument("--dir", default=os.environ.get(DIR_ENV, DEFAULT_DIR),
                         help=f"the lab's directory: cluster, state, your files (default {DEFAULT_DIR}, "
                              f"or ${DIR_ENV})")
        sub.add_argument("--bootstrap-server", metavar="HOST:PORT", default=None,
                         help="use this cluster instead of a local one the lab starts")
        return sub

    action("list", "every lab, with the number of brokers and what it needs", number=False)
    action("show", "where the lab is, and its README")
    start = action("start", "start a fresh local cluster (or use --bootstrap-server) and set the lab up")
    start.add_argument("--base-port", type=int, default=int(os.environ.get(BASE_PORT_ENV, DEFAULT_BASE_PORT)),
                       help=f"client port of broker 1 (default {DEFAULT_BASE_PORT}, or ${BASE_PORT_ENV})")
    action("check", "say what is done and what is missing; exit 1 while anything is missing")
    action("solve", "run the reference solution (for instructors and CI)")
    action("reset", "delete what the lab and you created, and set the lab up again")
    action("stop", "stop the lab's local cluster", number=False)


def run(args: argparse.Namespace) -> int:
    from minikafka.labs import catalog, runner

    directory = Path(args.dir)
    try:
        if args.action == "list":
            return list_labs(catalog)
        if args.action == "show":
            return show(catalog.find(args.number))
        if args.action == "start":
            runner.start(args.number, directory, args.bootstrap_server, args.base_port, out=_print)
            return 0
        if args.action == "check":
            return check(runner, args.number, directory, args.bootstrap_server)
        if args.action == "solve":
            runner.solve(args.number, directory, args.bootstrap_server)
            print(f"lab {args.number}: reference solution done; `minikafka lab check {args.number}`")
            return 0
        if args.action == "reset":
            runner.reset(args.number, directory, args.bootstrap_server, out=_print)
            return 0
        runner.stop(directory, out=_print)
        return 0
    except catalog.LabError as exc:
        print(f"minikafka: error: {exc}", file=sys.stderr)
        return 1


def _print(text: str) -> None:
    if text:
        print(text, flush=True)


def list_labs(catalog) -> int:
    """One line per lab: number, title, and what it runs on."""
    entries = catalog.all_labs()
    width = max((len(entry.lab.title) for entry in entries), default=0)
    for entry in entries:
        lab = entry.lab
        needs = [f"{lab.brokers} broker{'s' if lab.brokers > 1 else ''}",
                 "any Kafka" if lab.protocol_only else "the local cluster"]
        if lab.needs_fault_toolkit:
            needs.append("fault toolkit")
        if lab.needs_schema_registry:
            needs.append("schema registry")
        print(f"{lab.number:>2}  {lab.title:<{width}}  {', '.join(needs)}")
    return 0


def show(entry) -> int:
    print(f"lab {entry.lab.number}: {entry.lab.title}")
    print(f"directory: {entry.lab_dir}")
    print()
    print(entry.readme.read_text() if entry.readme.exists() else "(no README.md)")
    return 0


def check(runner, number: int, directory: Path, bootstrap_server: str | None) -> int:
    report = runner.check(number, directory, bootstrap_server)
    for line in report.lines():
        print(line)
    print(report.summary())
    return 0 if report.passed else 1
