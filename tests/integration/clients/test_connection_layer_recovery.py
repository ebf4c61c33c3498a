"""The connection layer against real brokers: several bootstrap servers,
metadata ageing, request timeouts, and a broker restarted under a client."""

from __future__ import annotations

import threading
import time

import pytest
import trio

from minikafka.testing import open_broker
from minikafka_clients import Admin, KafkaConnectionError, NewTopic, SyncAdmin
from minikafka_clients.cluster import open_cluster
from tests.integration.harness import BrokerProcess, free_port


async def test_bootstrap_tries_each_server_until_one_answers(tmp_path):
    dead = free_port()
    async with open_broker(tmp_path) as broker:
        servers = f"127.0.0.1:{dead},127.0.0.1:{broker.bound_ports[0]}"
        async with Admin({"bootstrap.servers": servers}) as admin:
            assert (await admin.describe_cluster()).nodes[0].port == broker.bound_ports[0]


async def test_metadata_older_than_max_age_is_asked_for_again(tmp_path):
    async with open_broker(tmp_path) as broker:
        bootstrap = f"127.0.0.1:{broker.bound_ports[0]}"
        async with Admin({"bootstrap.servers": bootstrap, "metadata.max.age.ms": 200}) as admin, \
                Admin({"bootstrap.servers": bootstrap}) as other:
            await admin.create_topics([NewTopic("grows", 1)])
            assert len((await admin.cluster.topic("grows")).partitions) == 1
            await other.create_partitions({"grows": 3})
            assert len((await admin.cluster.topic("grows")).partitions) == 1  # cached
            await trio.sleep(0.25)
            assert len((await admin.cluster.topic("grows")).partitions) == 3  # aged out


async def test_a_silent_broker_times_out_after_request_timeout_ms(nursery):
    listeners = await nursery.start(trio.serve_tcp, _swallow, 0)  # accepts, never answers
    port = listeners[0].socket.getsockname()[1]
    start = trio.current_time()
    with pytest.raises(KafkaConnectionError, match="ApiVersions within 300 ms"):
        async with open_cluster(config={"bootstrap.servers": f"127.0.0.1:{port}",
                                        "request.timeout.ms": 300}):
            pass
    assert 0.25 < trio.current_time() - start < 2


async def _swallow(stream):
    while await stream.receive_some(65536):
        pass


@pytest.mark.slow
def test_the_client_reconnects_after_the_broker_restarts(tmp_path):
    with BrokerProcess(tmp_path / "data") as broker, \
            SyncAdmin({"bootstrap.servers": broker.bootstrap,
                       "retry.backoff.max.ms": 200}) as admin:
        admin.create_topics([NewTopic("survivor", 2)])
        broker.stop()
        # Restart while the next call is already retrying against the dead port.
        restarter = threading.Timer(0.5, broker.start)
        restarter.start()
        try:
            start = time.monotonic()
            assert admin.list_topics() == ["survivor"]
            assert time.monotonic() - start >= 0.4  # it waited for the broker
        finally:
            restarter.join()
        assert sorted(admin.describe_topics(["survivor"])["survivor"].partitions) == [0, 1]
        admin.delete_topics(["survivor"])
        assert admin.list_topics() == []
