"""``minikafka.chaos.Cluster``: real broker processes, real faults, real clients.

The three processes form one KRaft cluster (a quorum of three voters); these
tests check the machinery: processes, signals, proxies. A topic's leader is
wherever the controller put it, so a test that cuts one broker off uses a
topic led by another. Failover behaviour is in test_cluster_failover.py.
"""

import os
import subprocess
import time
import uuid

import confluent_kafka
import pytest

from minikafka.chaos import Cluster
from minikafka.cli.cluster import process_state

pytestmark = pytest.mark.slow  # real processes: a few seconds for the module


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("chaos") / "cluster", brokers=3) as running:
        yield running


@pytest.fixture
def topic():
    return f"chaos-{uuid.uuid4().hex[:8]}"


def produce_one(address: str, topic: str, value: bytes, timeout_ms: int = 1500):
    """Produce one record with acks=all; return the delivery error (None when acknowledged)."""
    producer = confluent_kafka.Producer({"bootstrap.servers": address, "acks": "all",
                                         "message.timeout.ms": timeout_ms,
                                         "socket.timeout.ms": timeout_ms})
    errors = []
    producer.produce(topic, value, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(timeout_ms / 1000 + 5)
    return errors[0] if errors else "no delivery report"


def consume_all(address: str, topic: str, count: int, timeout_s: float = 15) -> list[bytes]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": address, "group.id": f"g-{uuid.uuid4().hex}",
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values, deadline = [], time.monotonic() + timeout_s
    while len(values) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value())
    consumer.close()
    return values


def test_three_brokers_start_and_answer(cluster):
    health = cluster.health()
    assert health.brokers_up == [1, 2, 3]
    pids = [cluster.pid_of(n) for n in (1, 2, 3)]
    assert len(set(pids)) == 3 and all(process_state(pid) == "alive" for pid in pids)
    assert cluster.bootstrap.count(",") == 2
    assert cluster.layout.state_path.exists()


def test_each_broker_takes_produce_through_its_client_port(cluster, topic):
    for node_id in (1, 2, 3):
        assert produce_one(cluster.address_of(node_id), topic, b"v") is None
    assert cluster.leader_of(topic, 0) in (1, 2, 3)


def test_pause_freezes_a_broker_and_resume_thaws_it(cluster, topic):
    address = cluster.address_of(2)
    assert produce_one(address, topic, b"before") is None
    cluster.pause(2)
    try:
        assert process_state(cluster.pid_of(2)) == "paused"
        assert cluster.state_of(2) == "paused"
        started = time.monotonic()
        error = produce_one(address, topic, b"while-paused")
        assert error is not None and error.code() == confluent_kafka.KafkaError._MSG_TIMED_OUT
        assert time.monotonic() - started >= 1.0
        assert cluster.health().brokers_up == [1, 3]
    finally:
        cluster.resume(2)
    assert produce_one(address, topic, b"after") is None


def test_kill_is_sigkill_and_restart_keeps_the_data(cluster, topic):
    address = cluster.address_of(3)
    for i in range(5):
        assert produce_one(address, topic, b"m%d" % i) is None
    old_pid = cluster.pid_of(3)
    cluster.kill(3)
    assert cluster.supervisor.broker(3).process.returncode == -9
    assert process_state(old_pid) == "dead" and cluster.state_of(3) == "dead"
    assert produce_one(address, topic, b"while-dead", timeout_ms=1000) is not None
    cluster.restart(3)
    assert cluster.pid_of(3) != old_pid and cluster.state_of(3) == "alive"
    # A broker killed with -9 may register again only after its old session
    # expires (broker.session.timeout.ms, 9 s as in Kafka): allow for that.
    assert consume_all(address, topic, 5, timeout_s=40) == [b"m%d" % i for i in range(5)]


def topic_not_led_by(cluster, node_id: int) -> str:
    """A new topic (RF 1) whose leader is not ``node_id``: the controller places leaders."""
    for _ in range(20):
        name = f"chaos-{uuid.uuid4().hex[:8]}"
        assert produce_one(cluster.address_of(node_id % 3 + 1), name, b"first") is None
        if cluster.leader_of(name, 0) != node_id:
            return name
    raise AssertionError(f"every new topic was led by broker {node_id}")


def test_cut_client_blocks_clients_and_heal_lets_them_back(cluster, topic):
    address = cluster.address_of(1)
    assert produce_one(address, topic, b"before") is None
    other = topic_not_led_by(cluster, 1)
    cluster.cut_client(1)
    try:
        assert produce_one(address, topic, b"during") is not None
        assert cluster.health().brokers_up == [1, 2, 3]  # the broker itself is fine
        assert produce_one(cluster.address_of(2), other, b"other broker") is None
    finally:
        cluster.heal_client(1)
    assert produce_one(address, topic, b"after", timeout_ms=10_000) is None


def kcat_list_seconds(address: str) -> float:
    started = time.monotonic()
    subprocess.run(["kcat", "-b", address, "-L", "-m", "10"], check=True, capture_output=True, timeout=20)
    return time.monotonic() - started


def test_slow_client_adds_latency_seen_by_kcat(cluster):
    address = cluster.address_of(2)
    fast = kcat_list_seconds(address)
    cluster.slow_client(2, 300)
    try:
        slow = kcat_list_seconds(address)
    finally:
        cluster.slow_client(2, 0)
    # ApiVersions then Metadata: at least two round trips of 2 x 300 ms.
    assert slow >= 1.2 > fast, (fast, slow)


def test_leaving_the_block_stops_every_process(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with Cluster(tmp_path / "c", brokers=2) as small:
            pids = [small.pid_of(1), small.pid_of(2)]
            port = small.layout.broker(1).client_port
            raise RuntimeError("boom")
    assert [process_state(pid) for pid in pids] == ["dead", "dead"]
    assert not (tmp_path / "c" / "cluster.json").exists()
    import socket
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_second_cluster_on_the_same_ports_is_refused(cluster, tmp_path):
    other = Cluster(tmp_path / "other", brokers=3, base_port=cluster.layout.base_port)
    with pytest.raises(Exception, match="ports already in use"):
        other.start()
    assert os.path.exists(cluster.layout.state_path)
