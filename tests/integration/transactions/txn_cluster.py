"""The three-broker cluster for the transaction tests, and the questions the nemeses ask it.

The cluster is ``minikafka.chaos.Cluster``: three real broker processes
behind proxies, so a test can kill -9, SIGSTOP or cut off any of them. The
overrides shorten Kafka's timeouts to lab scale, and give
``__transaction_state`` four partitions (Kafka: 50) so that its creation on
the first FindCoordinator is quick.
"""

from __future__ import annotations

import time

import trio
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol.messages import DESCRIBE_TRANSACTIONS_REQUEST
from minikafka_clients import open_cluster
from minikafka_clients.groups import TRANSACTION_KEY_TYPE, find_coordinator

CLUSTER_OVERRIDES = {
    "replica.lag.time.max.ms": 2000,
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
    "offsets.topic.replication.factor": 3,
    "transaction.state.log.num.partitions": 4,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 1000,
}


def wait_until(predicate, timeout_s: float = 30.0, what: str = "condition"):
    """Poll ``predicate`` (errors count as false) until it returns a true value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # metadata may be briefly unavailable during elections
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def create_topic(cluster, name: str, partitions: int, replication_factor: int = 3, min_isr: int = 2) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, replication_factor,
                                            config={"min.insync.replicas": str(min_isr)})])
    futures[name].result(30)
    for partition in range(partitions):
        wait_until(lambda: cluster.leader_of(name, partition) > 0, what=f"a leader for {name}-{partition}")


def leaders(cluster, topic: str, partitions: int, via=None) -> dict[int, int]:
    """partition -> leader node id, from Metadata."""
    return {p: cluster.leader_of(topic, p, via=via) for p in range(partitions)}


def transaction_coordinator(bootstrap: str, transactional_id: str, timeout_s: float = 30.0) -> int:
    """The node id of ``transactional_id``'s coordinator (FindCoordinator, key type 1).

    Retries while ``__transaction_state`` is created or its leader moves.
    """
    retriable = {ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR,
                 ErrorCode.COORDINATOR_LOAD_IN_PROGRESS}

    async def ask() -> int:
        async with open_cluster(bootstrap, request_timeout_ms=5000) as cluster:
            with trio.fail_after(timeout_s):
                while True:
                    try:
                        coordinator = await find_coordinator(cluster, transactional_id,
                                                             TRANSACTION_KEY_TYPE)
                        return coordinator.node_id
                    except KafkaError as exc:
                        if exc.code not in retriable:
                            raise
                    await trio.sleep(0.2)

    return trio.run(ask)


def transaction_state(cluster, coordinator: int, transactional_id: str) -> str:
    """The coordinator's state of ``transactional_id`` (DescribeTransactions): "Ongoing", "PrepareCommit"...

    Asked of ``coordinator`` itself, so that the answer is its view even
    while the other brokers cannot reach it.
    """
    async def ask() -> str:
        async with open_cluster(cluster.address_of(coordinator), request_timeout_ms=5000) as client:
            connection = await client.connection_to_address(*_host_port(cluster.address_of(coordinator)))
            response = await client.request(connection, DESCRIBE_TRANSACTIONS_REQUEST.api_key,
                                            {"transactional_ids": [transactional_id]})
            state = response.transaction_states[0]
            if state.error_code:
                raise KafkaError(ErrorCode(state.error_code), f"describing {transactional_id}")
            return state.transaction_state

    return trio.run(ask)


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)
