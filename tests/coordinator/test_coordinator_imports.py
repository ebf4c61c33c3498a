"""The group coordinators are sans-I/O: they import neither trio nor the server.

Each check imports one module in a fresh interpreter and looks at everything
that import pulled in, so an indirect import (through a shared module)
breaks the rule as surely as a direct one. Only ``coordinator/runtime.py``
drives the coordinators with trio.
"""

import subprocess
import sys

import pytest

SANS_IO_MODULES = [
    "minikafka.coordinator.classic.coordinator",
    "minikafka.coordinator.consumer.coordinator",
    "minikafka.coordinator.records",
    "minikafka.coordinator.result",
    "minikafka.coordinator.group_partition",
]
# Trio, and the layers that drive the coordinators or serve the network.
FORBIDDEN = ("trio", "minikafka.server", "minikafka.handlers", "minikafka.broker",
             "minikafka.coordinator.runtime")


def loaded_modules(module: str) -> set[str]:
    """The names in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("module", SANS_IO_MODULES)
def test_sans_io_module_imports_no_trio_and_no_server(module):
    loaded = loaded_modules(module)
    assert [name for name in loaded if any(is_under(name, f) for f in FORBIDDEN)] == []


def test_the_two_protocols_do_not_import_each_other():
    classic = loaded_modules("minikafka.coordinator.classic.coordinator")
    consumer = loaded_modules("minikafka.coordinator.consumer.coordinator")
    assert not any(is_under(name, "minikafka.coordinator.consumer") for name in classic)
    assert not any(is_under(name, "minikafka.coordinator.classic") for name in consumer)
