"""``minikafka cluster`` end to end: detached start, status, faults, stop, Ctrl-C."""

import json
import signal
import subprocess
import sys

import pytest

from minikafka.chaos.layout import find_free_base_port
from minikafka.cli.cluster import describe_faults, process_state


def minikafka(*args, timeout=90):
    return subprocess.run([sys.executable, "-m", "minikafka", "cluster", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_describe_faults_names_each_symmetric_pair_once():
    faults = {"cut": [[0, 3], [1, 2], [2, 1]], "slow": [[1, 3, 200], [3, 1, 200], [0, 2, 50]]}
    assert describe_faults(faults) == "cut-client 3; cut 1<->2; slow 1<->3 200 ms; slow-client 2 50 ms"
    assert describe_faults({}) == "none"


def test_commands_without_a_cluster_fail_in_one_line(tmp_path):
    result = minikafka("status", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("minikafka: error: no cluster running in")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_detach_status_faults_stop(tmp_path):
    data_dir = tmp_path / "cluster"
    base = find_free_base_port(3)
    result = minikafka("start", "--detach", "--dir", str(data_dir), "--base-port", str(base),
                       "--override", "num.partitions=2")
    assert result.returncode == 0, result.stderr
    assert f"bootstrap.servers=127.0.0.1:{base},127.0.0.1:{base + 1},127.0.0.1:{base + 2}" in result.stdout
    assert "health: 3/3 brokers up" in result.stdout
    state = json.loads((data_dir / "cluster.json").read_text())
    pids = [b["pid"] for b in state["brokers"]] + [state["supervisor_pid"]]
    assert "num.partitions=2" in (data_dir / "broker-2.properties").read_text()
    try:
        again = minikafka("start", "--detach", "--dir", str(data_dir), "--base-port", str(base))
        assert again.returncode == 1 and "already running" in again.stderr

        assert minikafka("kill", "2", "--dir", str(data_dir)).stdout.strip() == "broker 2 killed (SIGKILL)"
        assert minikafka("cut", "1", "3", "--dir", str(data_dir)).returncode == 0
        assert minikafka("cut-client", "3", "--dir", str(data_dir)).returncode == 0
        bad = minikafka("pause", "9", "--dir", str(data_dir))
        assert bad.returncode == 1 and "no broker 9" in bad.stderr

        status = minikafka("status", "--dir", str(data_dir))
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert any(line.strip().startswith("broker 2") and "dead" in line for line in lines)
        assert "faults: cut-client 3; cut 1<->3" in status.stdout
        assert "health: 2/3 brokers up" in status.stdout

        assert minikafka("restart", "2", "--dir", str(data_dir)).returncode == 0
        assert "health: 3/3 brokers up" in minikafka("status", "--dir", str(data_dir)).stdout
    finally:
        stop = minikafka("stop", "--dir", str(data_dir))
    assert stop.returncode == 0, stop.stderr
    state_after = [process_state(pid) for pid in pids]
    assert state_after == ["dead"] * 4
    assert not (data_dir / "cluster.json").exists()


@pytest.mark.slow
def test_ctrl_c_stops_every_broker(tmp_path):
    data_dir = tmp_path / "cluster"
    base = find_free_base_port(3)
    process = subprocess.Popen([sys.executable, "-m", "minikafka", "cluster", "start", "--dir", str(data_dir),
                                "--base-port", str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert any("health: 3/3 brokers up" in line for line in banner), banner
        pids = [b["pid"] for b in json.loads((data_dir / "cluster.json").read_text())["brokers"]]
        assert all(process_state(pid) == "alive" for pid in pids)
        process.send_signal(signal.SIGINT)  # only the supervisor: brokers are in their own sessions
        assert process.wait(30) == 0
        assert "cluster stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [process_state(pid) for pid in pids] == ["dead"] * 3
    for node_id in (1, 2, 3):  # a clean shutdown, not a kill
        assert "shut down cleanly" in (data_dir / f"broker-{node_id}.log").read_text()
    assert not (data_dir / "cluster.json").exists()
