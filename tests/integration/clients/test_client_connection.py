"""The client's Connection and Cluster: pipelining, ApiVersions, failures.

A fake broker built from trio and ``minikafka.protocol.framing`` answers
ApiVersions and Metadata, in order, optionally holding responses back, so the
tests can see requests pipelined on one socket and matched by correlation id.
The same checks also run against Tansu, a real Kafka-compatible broker.
"""

from __future__ import annotations

import functools

import pytest
import trio

from tests.integration.cli_brokers import TansuBroker
from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol import framing, messages
from minikafka_clients.cluster import open_cluster, parse_bootstrap
from minikafka_clients.connection import KafkaConnectionError, RequestTimedOut, connect, pick_versions
from minikafka_clients.admin import list_topics

METADATA, API_VERSIONS = 3, 18


class FakeBroker:
    """Answers ApiVersions (Metadata v0-9 only) and Metadata; can go silent."""

    def __init__(self):
        self.silent = False
        self.seen_correlation_ids = []
        self.port = None

    async def serve(self, stream):
        reader = framing.FrameReader()
        while data := await stream.receive_some(65536):
            reader.receive_data(data)
            while (frame := reader.next_frame()) is not None:
                header, body_offset = framing.read_request_header(frame)
                body = messages.REQUESTS[header.request_api_key].decode(
                    frame[body_offset:], header.request_api_version)
                self.seen_correlation_ids.append(header.correlation_id)
                if not self.silent:
                    await stream.send_all(self.answer(header))

    def answer(self, header) -> bytes:
        key, version = header.request_api_key, header.request_api_version
        if key == API_VERSIONS:
            body = {"api_keys": [{"api_key": METADATA, "min_version": 0, "max_version": 9},
                                 {"api_key": API_VERSIONS, "min_version": 0, "max_version": 4},
                                 {"api_key": 9999, "min_version": 0, "max_version": 1}]}
        else:
            body = {"brokers": [{"node_id": 7, "host": "127.0.0.1", "port": self.port}],
                    "controller_id": 7, "cluster_id": "fake",
                    "topics": [{"name": "t", "partitions": [
                        {"partition_index": 0, "leader_id": 7, "replica_nodes": [7],
                         "isr_nodes": [7]}]}]}
        return framing.encode_response(key, version, header.correlation_id, body)


@pytest.fixture
async def fake_broker(nursery):
    fake = FakeBroker()
    listeners = await nursery.start(functools.partial(trio.serve_tcp, fake.serve, 0,
                                                      host="127.0.0.1"))
    fake.port = listeners[0].socket.getsockname()[1]
    return fake


async def test_versions_are_the_highest_both_sides_speak(fake_broker, nursery):
    connection = await connect(nursery, "127.0.0.1", fake_broker.port)
    assert connection.api_versions[METADATA] == 9  # the broker's ceiling, below ours
    assert connection.api_versions[API_VERSIONS] == min(
        4, messages.REQUESTS[API_VERSIONS].valid_versions.highest)
    assert 9999 not in connection.api_versions  # an API we do not declare
    with pytest.raises(KafkaError) as info:
        connection.version_for(0)  # Produce: the broker did not offer it
    assert info.value.code == ErrorCode.UNSUPPORTED_VERSION
    await connection.aclose()


async def test_pipelined_requests_are_matched_in_order(fake_broker, nursery):
    connection = await connect(nursery, "127.0.0.1", fake_broker.port)
    results = {}

    async def ask(i):
        results[i] = await connection.request(METADATA, {"topics": None}, timeout_ms=5000)

    async with trio.open_nursery() as requests:
        for i in range(50):
            requests.start_soon(ask, i)
    assert len(results) == 50 and all(r.cluster_id == "fake" for r in results.values())
    assert fake_broker.seen_correlation_ids == sorted(set(fake_broker.seen_correlation_ids))
    await connection.aclose()


async def test_timeout_then_connection_error(fake_broker, nursery):
    connection = await connect(nursery, "127.0.0.1", fake_broker.port)
    fake_broker.silent = True
    with pytest.raises(RequestTimedOut):
        await connection.request(METADATA, {"topics": None}, timeout_ms=100)
    await connection.aclose()
    with pytest.raises(KafkaConnectionError):
        await connection.request(METADATA, {"topics": None}, timeout_ms=100)


async def test_cluster_bootstrap_and_leader(fake_broker):
    async with open_cluster(f"127.0.0.1:{fake_broker.port}") as cluster:
        assert cluster.brokers == {7: ("127.0.0.1", fake_broker.port)}
        assert await cluster.leader_for("t", 0) == 7
        with pytest.raises(KafkaError) as info:
            await cluster.leader_for("t", 5)
        assert info.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_unreachable_bootstrap_server():
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(KafkaConnectionError, match="Connection refused"):
        async with open_cluster(f"127.0.0.1:{port}"):
            pass


def test_parse_bootstrap():
    assert parse_bootstrap("a:1, b:2") == [("a", 1), ("b", 2)]
    assert parse_bootstrap(["[::1]:9092"]) == [("::1", 9092)]
    with pytest.raises(ValueError):
        parse_bootstrap("nohost")


def test_pick_versions_ignores_disjoint_ranges():
    class Entry:
        def __init__(self, api_key, min_version, max_version):
            self.api_key, self.min_version, self.max_version = api_key, min_version, max_version

    highest = messages.REQUESTS[METADATA].valid_versions.highest
    assert pick_versions([Entry(METADATA, 0, 99)]) == {METADATA: highest}
    assert pick_versions([Entry(METADATA, highest + 1, highest + 5)]) == {}


async def test_against_tansu_pipelined_metadata():
    with TansuBroker() as tansu:
        async with open_cluster(tansu.bootstrap) as cluster:
            connection = await cluster.any_connection()
            assert connection.api_versions[API_VERSIONS] >= 3
            async with trio.open_nursery() as requests:
                for _ in range(20):
                    requests.start_soon(list_topics, cluster)
