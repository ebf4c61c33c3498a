"""Where the labs are, and what each one declares.

Each lab is a directory ``NN-slug`` (``01-log-on-disk``) holding a
``README.md`` for the student and a ``lab.py`` for ``minikafka lab``::

    LAB = Lab(number=1, slug="log-on-disk", title="The log on disk", brokers=1,
              overrides={"log.retention.check.interval.ms": "1000"})

    def start(ctx: LabContext) -> None: ...                  # topics, configs, seed data
    def check(ctx: LabContext, report: Report) -> None: ...  # what the student did
    def solve(ctx: LabContext) -> None: ...                  # the reference solution
    def reset(ctx: LabContext) -> None: ...                  # optional

``starter/`` holds the code the student completes (the places are marked
``# LAB NN:``) and ``solution/`` the reference solution, each script runnable
as ``python solution/x.py --bootstrap-server HOST:PORT``.

The labs directory is found, in this order: ``$MINIKAFKA_LABS_DIR``; the
``labs/`` directory of a source checkout (beside the ``minikafka`` package);
the ``minikafka_labs`` package that an installed wheel ships (the same
``labs/`` directory, packaged as data by ``setup.py``). Each ``lab.py`` is
imported from its file under the module name ``minikafka_lab_NN``; it is
not part of the ``minikafka`` package, so it may import anything the
student's code may (``minikafka.labs``, ``minikafka_clients``, any Kafka client).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

LABS_DIR_ENV = "MINIKAFKA_LABS_DIR"
LAB_DIR_PATTERN = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)$")


class LabError(Exception):
    """A one-line failure of a ``lab`` command (no such lab, no lab started, ...)."""


@dataclasses.dataclass(frozen=True)
class Lab:
    """What a lab needs from ``minikafka lab start``.

    Args:
        number: the lab's number, as in its directory name (``01-...`` is 1).
        slug: the rest of the directory name (``log-on-disk``).
        title: one line, shown by ``minikafka lab list``.
        brokers: how many brokers the local cluster gets (1 or 3).
        overrides: ``server.properties`` keys for every broker (Kafka's names;
            a lab that needs faster timers than Kafka's defaults says so here).
        needs_fault_toolkit: the lab kills, pauses, cuts or slows brokers, so
            it needs the local cluster (``ctx.cluster``), not any Kafka.
        protocol_only: the lab uses only Kafka's protocol and configs, so its
            solution and check also run against another Kafka-compatible broker.
        needs_schema_registry: the lab uses the schema registry (``ctx.registry_url``).
    """

    number: int
    slug: str
    title: str
    brokers: int = 1
    overrides: dict = dataclasses.field(default_factory=dict)
    needs_fault_toolkit: bool = False
    protocol_only: bool = False
    needs_schema_registry: bool = False

    @property
    def name(self) -> str:
        """The directory name, ``01-log-on-disk``."""
        return f"{self.number:02d}-{self.slug}"


@dataclasses.dataclass
class LabModule:
    """One lab found on disk: its declaration, directory and loaded ``lab.py``."""

    lab: Lab
    lab_dir: Path
    module: ModuleType

    @property
    def readme(self) -> Path:
        return self.lab_dir / "README.md"

    def summary(self) -> str:
        """The first paragraph of the README after its title (``lab show``'s header)."""
        paragraphs = self.readme.read_text().split("\n\n") if self.readme.exists() else []
        for paragraph in paragraphs:
            if paragraph.strip() and not paragraph.lstrip().startswith("#"):
                return " ".join(paragraph.split())
        return self.lab.title


def labs_root() -> Path:
    """The directory holding the ``NN-slug`` lab directories (see the module docstring)."""
    configured = os.environ.get(LABS_DIR_ENV)
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[2] / "labs"
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec("minikafka_labs")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    raise LabError("cannot find the labs: set MINIKAFKA_LABS_DIR to the labs/ directory of a checkout")


def lab_dirs(root: Path | None = None) -> dict[int, Path]:
    """Lab number -> directory, for every ``NN-slug`` directory with a ``lab.py``."""
    root = root or labs_root()
    found = {}
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        match = LAB_DIR_PATTERN.match(path.name)
        if match and (path / "lab.py").is_file():
            found[int(match.group(1))] = path
    return found


def load(lab_dir: Path) -> LabModule:
    """Import ``lab_dir/lab.py`` and check its declaration matches its directory."""
    match = LAB_DIR_PATTERN.match(lab_dir.name)
    name = f"minikafka_lab_{match.group(1) if match else lab_dir.name}"
    spec = importlib.util.spec_from_file_location(name, lab_dir / "lab.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    lab = getattr(module, "LAB", None)
    if not isinstance(lab, Lab):
        raise LabError(f"{lab_dir / 'lab.py'} defines no LAB = Lab(...)")
    if lab.name != lab_dir.name:
        raise LabError(f"{lab_dir / 'lab.py'} declares lab {lab.name!r}, but its directory is {lab_dir.name!r}")
    for function in ("start", "check", "solve"):
        if not callable(getattr(module, function, None)):
            raise LabError(f"{lab_dir / 'lab.py'} has no {function}() function")
    return LabModule(lab, lab_dir, module)


def find(number: int, root: Path | None = None) -> LabModule:
    """The lab numbered ``number``."""
    dirs = lab_dirs(root)
    if number not in dirs:
        known = ", ".join(str(n) for n in sorted(dirs)) or "none"
        raise LabError(f"no lab {number} (labs: {known})")
    return load(dirs[number])


def all_labs(root: Path | None = None) -> list[LabModule]:
    """Every lab, in number order."""
    return [load(path) for _, path in sorted(lab_dirs(root).items())]
