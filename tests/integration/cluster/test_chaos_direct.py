"""Direct mode (``proxies=False``, ``minikafka cluster start --no-proxies``).

The brokers listen on the client and controller ports themselves: Metadata
advertises those ports, nothing listens on the proxies' hidden blocks, process
faults work, and network faults are refused in one clear line (through the
harness and through the CLI, which reaches the same supervisor via
``cluster.json``).
"""

import json
import socket
import subprocess
import sys

import pytest

from minikafka.chaos import Cluster
from minikafka.chaos.layout import ClusterLayout
from minikafka.chaos.supervisor import NO_PROXIES, SupervisorError
from minikafka.cli.cluster import process_state
from minikafka.testing import LAB_CLUSTER_OVERRIDES


def test_direct_layout_binds_and_advertises_the_client_and_controller_ports(tmp_path):
    layout = ClusterLayout(tmp_path, brokers=3, base_port=9092, proxies=False)
    first = layout.properties(1)
    assert first["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192"
    assert first["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert first["controller.quorum.voters"] == "1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194"
    assert layout.bootstrap == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    assert layout.all_ports() == [9092, 9093, 9094, 9192, 9193, 9194, 9492, 9493, 9494]
    assert "no proxies" in layout.properties_text(1)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.slow
def test_direct_cluster_answers_on_its_real_ports_and_refuses_network_faults(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=LAB_CLUSTER_OVERRIDES, proxies=False) as cluster:
        health = cluster.health()  # Metadata from each broker's own listener
        assert health.brokers_up == [1, 2, 3] and health.controller_id in (1, 2, 3)
        hidden = cluster.layout.base_port + 200  # where broker 1's listener sits behind a proxy
        assert refuses_connections(hidden)
        state = json.loads(cluster.layout.state_path.read_text())
        assert state["proxies"] is False

        with pytest.raises(SupervisorError, match=r"^this cluster runs without proxies \(--no-proxies\)"):
            cluster.cut(1, 2)
        cli = subprocess.run([sys.executable, "-m", "minikafka", "cluster", "cut", "1", "2",
                              "--dir", str(cluster.layout.data_dir)], capture_output=True, text=True, timeout=30)
        assert cli.returncode == 1 and cli.stderr.strip() == f"minikafka: error: {NO_PROXIES}"

        old_pid = cluster.pid_of(2)
        cluster.kill(2)
        assert process_state(old_pid) == "dead" and cluster.state_of(2) == "dead"
        assert refuses_connections(cluster.layout.broker(2).client_port)  # no proxy accepts for it
        assert cluster.health().brokers_up == [1, 3]
        cluster.restart(2)
        assert cluster.pid_of(2) != old_pid and cluster.state_of(2) == "alive"
        assert cluster.health().brokers_up == [1, 2, 3]
