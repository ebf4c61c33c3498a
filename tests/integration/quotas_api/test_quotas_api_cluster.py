"""Client quotas on a three-broker KRaft cluster: altered through any broker, forwarded
to the active controller, visible on every broker, kept across restarts.

The in-process cluster (``open_cluster``) forwards through the in-memory
controller seam; the process cluster (``minikafka.chaos.Cluster``) forwards
over TCP to the active controller's CONTROLLER listener, the way separate
broker processes do.
"""

from __future__ import annotations

import time

import pytest
import trio

from minikafka.chaos import Cluster
from minikafka.errors import ErrorCode
from minikafka.testing import LAB_CLUSTER_OVERRIDES, open_cluster
from tests.integration.quotas_api.quotas_wire import alter, describe, entity

ALTERATIONS = [
    ({"user": "alice"}, {"producer_byte_rate": 4096}),
    ({"user": None, "client-id": None}, {"request_percentage": 50}),
    ({"ip": "10.0.0.7"}, {"connection_creation_rate": 3}),
]
EXPECTED = {
    entity(user="alice"): {"producer_byte_rate": 4096.0},
    entity(user=None, client_id=None): {"request_percentage": 50.0},
    entity(ip="10.0.0.7"): {"connection_creation_rate": 3.0},
}
EXPECTED_ENTRIES = {
    (("user", "alice"),): {"producer_byte_rate": 4096.0},
    (("client-id", None), ("user", None)): {"request_percentage": 50.0},
    (("ip", "10.0.0.7"),): {"connection_creation_rate": 3.0},
}


def not_the_controller(cluster):
    return next(b for b in cluster.brokers.values() if not b.metadata.is_active)


async def test_quotas_reach_every_broker_and_their_listeners(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        heard = {node_id: [] for node_id in cluster.brokers}
        for node_id, broker in cluster.brokers.items():
            broker.topics.add_client_quota_listener(heard[node_id].append)
        assert all(calls == [{}] for calls in heard.values())

        via = not_the_controller(cluster)
        assert await alter(via.bound_ports[0], ALTERATIONS) == [(ErrorCode.NONE, None)] * 3
        await cluster.wait_for(lambda: all(b.topics.client_quotas() == EXPECTED_ENTRIES
                                           for b in cluster.brokers.values()))
        for node_id, broker in cluster.brokers.items():
            assert await describe(broker.bound_ports[0]) == EXPECTED
            assert heard[node_id][-1] == EXPECTED_ENTRIES

        # validate_only, through another broker: nothing changes anywhere.
        assert await alter(via.bound_ports[0], [({"user": "bob"}, {"consumer_byte_rate": 1})],
                           validate_only=True) == [(ErrorCode.NONE, None)]
        await trio.sleep(1)
        assert all(b.topics.client_quotas() == EXPECTED_ENTRIES for b in cluster.brokers.values())

        # A restarted broker has them again, from its own metadata log.
        await cluster.stop(via.node_id)
        restarted = await cluster.start(via.node_id)
        await cluster.wait_for(lambda: restarted.topics.client_quotas() == EXPECTED_ENTRIES)
        assert await describe(restarted.bound_ports[0]) == EXPECTED


async def test_a_failed_alteration_reports_kafkas_error_through_a_follower(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        via = not_the_controller(cluster)
        results = await alter(via.bound_ports[0], [({"user": "a"}, {"producer_byte_rate": 2.5}),
                                                   ({"user": "b"}, {"producer_byte_rate": 3})])
        assert results == [(ErrorCode.INVALID_REQUEST, "producer_byte_rate cannot be a fractional value."),
                           (ErrorCode.NONE, None)]
        await cluster.wait_for(lambda: all(b.topics.client_quotas() == {(("user", "b"),): {"producer_byte_rate": 3.0}}
                                           for b in cluster.brokers.values()))


# --- separate processes -----------------------------------------------------------------------

PROCESS_TIMEOUTS = {**LAB_CLUSTER_OVERRIDES, "controller.quorum.election.timeout.ms": 1000,
                    "controller.quorum.fetch.timeout.ms": 2000, "broker.session.timeout.ms": 3000,
                    "broker.heartbeat.interval.ms": 500}


def port_of(cluster: Cluster, node_id: int) -> int:
    return int(cluster.address_of(node_id).rsplit(":", 1)[1])


def describe_until(port: int, expected: dict, timeout_s: float = 30) -> dict:
    """Describe on one broker until it shows ``expected`` (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            seen = trio.run(describe, port)
        except OSError:  # a restarting broker: not listening yet
            seen = None
        if seen == expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


@pytest.mark.cluster
@pytest.mark.slow
def test_broker_processes_forward_to_the_controller_over_tcp(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=PROCESS_TIMEOUTS, proxies=False) as cluster:
        ports = {node_id: port_of(cluster, node_id) for node_id in (1, 2, 3)}
        # One entity through each broker: at least two of them forward to a peer.
        for (alteration, port) in zip(ALTERATIONS, ports.values()):
            deadline = time.monotonic() + 30
            while (result := trio.run(alter, port, [alteration])) != [(ErrorCode.NONE, None)]:
                assert time.monotonic() < deadline, result  # no controller elected yet: retry
                time.sleep(0.2)
        bad = trio.run(alter, ports[2], [({"user": "x"}, {"bogus": 1})])
        assert bad == [(ErrorCode.INVALID_REQUEST, "Invalid configuration key bogus")]
        for port in ports.values():
            assert describe_until(port, EXPECTED) == EXPECTED

        cluster.restart(3)
        assert describe_until(ports[3], EXPECTED) == EXPECTED, cluster.log_of(3)
