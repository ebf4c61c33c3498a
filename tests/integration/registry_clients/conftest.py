"""One broker and one real schema registry process for the registry client tests.

The registry is ``python -m minikafka schema-registry`` in a child process,
keeping its schemas in the broker's ``_schemas`` topic, exactly as a user
runs it; the clients under test reach it over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from minikafka.testing import BrokerThread
from tests.integration.harness import free_port


def wait_for_registry(log_path, url: str, timeout_s: float = 60.0) -> None:
    """Wait for the line ``schema registry: URL``: the registry has read ``_schemas`` and knows its writer.

    (Its HTTP port answers reads earlier; a write before the election is
    over gets 50004, as Confluent's registry answers.)
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if f"schema registry: {url}" in log_path.read_text(errors="replace"):
            httpx.get(f"{url}/subjects", timeout=5.0).raise_for_status()
            return
        time.sleep(0.1)
    raise TimeoutError(f"the schema registry at {url} was not ready in {timeout_s}s:\n"
                       + log_path.read_text(errors="replace")[-2000:])


@pytest.fixture(scope="package")
def broker(tmp_path_factory):
    with BrokerThread(tmp_path_factory.mktemp("registry-clients-broker")) as running:
        yield running


@pytest.fixture(scope="package")
def registry_url(broker, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("registry-log") / "registry.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "minikafka", "schema-registry", "--bootstrap-server", broker.bootstrap,
             "--listen", f"127.0.0.1:{port}"], stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_registry(log_path, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
