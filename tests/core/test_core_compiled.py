"""The compiled core must load; and every core and log test also passes uncompiled."""

import os
import subprocess
import sys

import pytest

import minikafka_core

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORE_MODULES = ["batch", "offset_index", "time_index", "segment", "recovery"]


@pytest.mark.skipif(minikafka_core.PURE, reason="MINIKAFKA_PURE=1 asks for the uncompiled core")
def test_compiled_modules_loaded():
    import importlib

    assert minikafka_core.COMPILED, "run `python setup.py build_ext --inplace` first"
    for name in CORE_MODULES:
        module = importlib.import_module(f"minikafka_core.{name}")
        assert not module.__file__.endswith(".py"), f"{name} loaded from {module.__file__}"


def test_pure_switch_loads_sources():
    code = ("import minikafka_core, minikafka_core.batch as b, minikafka_core.segment as s;"
            "print(minikafka_core.COMPILED, b.__file__.endswith('.py'), s.__file__.endswith('.py'))")
    env = dict(os.environ, MINIKAFKA_PURE="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "True", "True"]


@pytest.mark.slow
@pytest.mark.skipif(minikafka_core.PURE, reason="already the uncompiled run")
def test_core_and_log_tests_pass_uncompiled():
    env = dict(os.environ, MINIKAFKA_PURE="1", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
         "tests/core", "tests/storage", "--deselect",
         "tests/core/test_core_compiled.py::test_core_and_log_tests_pass_uncompiled"],
        env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
