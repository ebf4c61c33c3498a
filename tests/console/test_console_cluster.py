"""The console of ``minikafka cluster start``: its buttons break and mend a real 3-broker cluster."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from minikafka.chaos.layout import find_free_base_port
from minikafka.cli.cluster import process_state

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# Short timeouts, so a kill shows in the ISR within seconds (Kafka's defaults: 9 s and 30 s).
LAB_TIMEOUTS = {"broker.session.timeout.ms": 1500, "broker.heartbeat.interval.ms": 250,
                "replica.lag.time.max.ms": 2000}


def minikafka(*args, timeout=90):
    return subprocess.run([sys.executable, "-m", "minikafka", *args], capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, timeout_s: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_state(console: str, done, timeout_s: float, what: str) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = http("GET", f"{console}/api/state")[1]
        if done(state):
            return state
        assert time.monotonic() < deadline, f"{what} not seen within {timeout_s} s: {state}"
        time.sleep(0.2)


def broker_states(state: dict) -> dict[int, str]:
    return {b["id"]: b["state"] for b in state["brokers"]}


def test_console_buttons_drive_the_supervisor(tmp_path):
    data_dir, base, port = tmp_path / "cluster", find_free_base_port(3), free_port()
    overrides = [arg for key, value in LAB_TIMEOUTS.items() for arg in ("--override", f"{key}={value}")]
    started = minikafka("cluster", "start", "--detach", "--dir", str(data_dir), "--base-port", str(base),
                        "--console-port", str(port), *overrides)
    assert started.returncode == 0, started.stderr
    console = f"http://127.0.0.1:{port}"
    assert f"console: {console}" in started.stdout
    console_pid = json.loads((data_dir / "cluster.json").read_text())["console_pid"]
    try:
        assert f"console: {console}" in minikafka("cluster", "status", "--dir", str(data_dir)).stdout
        created = minikafka("topics", "create", "--bootstrap-server", f"127.0.0.1:{base}", "--topic", "orders",
                            "--partitions", "2", "--replication-factor", "3")
        assert created.returncode == 0, created.stderr
        state = wait_for_state(console, lambda s: s["topics"] and set(broker_states(s).values()) == {"alive"},
                               15, "three live brokers and the topic")
        assert state["controls"] is True and state["links"] is True

        assert http("POST", f"{console}/api/brokers/2/kill") == (200, {"ok": True})
        wait_for_state(console, lambda s: broker_states(s)[2] == "dead", 5, "broker 2 dead")
        state = wait_for_state(console, lambda s: all(p["under_replicated"] for p in s["topics"][0]["partitions"]),
                               15, "every partition under-replicated")
        events = http("GET", f"{console}/api/events?after=0")[1]["events"]
        assert {"broker_down", "isr_shrink"} <= {e["type"] for e in events}

        assert http("POST", f"{console}/api/brokers/2/restart") == (200, {"ok": True})
        wait_for_state(console, lambda s: broker_states(s)[2] == "alive", 10, "broker 2 back")

        assert http("POST", f"{console}/api/brokers/3/pause") == (200, {"ok": True})
        wait_for_state(console, lambda s: broker_states(s)[3] == "paused", 5, "broker 3 paused")
        assert http("POST", f"{console}/api/brokers/3/resume") == (200, {"ok": True})
        wait_for_state(console, lambda s: broker_states(s)[3] == "alive", 10, "broker 3 resumed")

        assert http("POST", f"{console}/api/links/1/3/cut") == (200, {"ok": True})
        wait_for_state(console, lambda s: [1, 3] in s["faults"]["cut"], 5, "the cut 1-3")
        assert http("POST", f"{console}/api/links/1/3/heal") == (200, {"ok": True})
        wait_for_state(console, lambda s: not s["faults"]["cut"], 5, "the healed link")

        status, answer = http("POST", f"{console}/api/brokers/9/kill")
        assert status == 400 and "no broker 9" in answer["error"]
    finally:
        stopped = minikafka("cluster", "stop", "--dir", str(data_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert process_state(console_pid) == "dead"


def test_no_console(tmp_path):
    data_dir, base = tmp_path / "cluster", find_free_base_port(1)
    started = minikafka("cluster", "start", "--detach", "--brokers", "1", "--dir", str(data_dir),
                        "--base-port", str(base), "--no-console")
    try:
        assert started.returncode == 0, started.stderr
        assert "console: none" in started.stdout
        assert json.loads((data_dir / "cluster.json").read_text())["console_pid"] is None
    finally:
        assert minikafka("cluster", "stop", "--dir", str(data_dir)).returncode == 0
