"""The controller mutation quota (KIP-599) against real clients over real sockets.

``controller_mutation_rate`` is set per client id with AlterClientQuotas, as
an operator would. The brokers run with a 2 x 1 s quota window, so a rate of
2 partitions/s allows a burst of 4 partitions and an empty bucket refills in
about a second: each test waits out at most one throttle.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest
import trio
from confluent_kafka.admin import AdminClient, NewTopic as ConfluentNewTopic
from kafka import KafkaAdminClient

from minikafka.errors import ErrorCode
from minikafka.testing import BrokerThread, bootstrap_servers, open_broker
from minikafka_clients import open_cluster

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS, ALTER_CLIENT_QUOTAS = 19, 20, 37, 49
QUOTA_WINDOW = {"controller_quota_window_num": 2, "controller_quota_window_size_seconds": 1,
                "auto_create_topics_enable": False}
RATE = 2.0  # partitions per second; a burst of RATE * 2 windows * 1 s = 4 partitions
THROTTLED = ErrorCode.THROTTLING_QUOTA_EXCEEDED
TIMEOUT_S = 10


def fresh(prefix="m"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def quota_entry(client_id: str, rate: float) -> dict:
    return {"entity": [{"entity_type": "client-id", "entity_name": client_id}],
            "ops": [{"key": "controller_mutation_rate", "value": rate, "remove": False}]}


async def set_mutation_quota(bootstrap: str, client_id: str, rate: float = RATE) -> None:
    """AlterClientQuotas through the bundled client (committed; the broker applies it soon after)."""
    async with open_cluster(bootstrap, client_id="operator") as cluster:
        response = await cluster.request(None, ALTER_CLIENT_QUOTAS,
                                         {"entries": [quota_entry(client_id, rate)], "validate_only": False})
    assert [e.error_code for e in response.entries] == [ErrorCode.NONE]


def topics_body(names, partitions=3) -> dict:
    return {"topics": [{"name": name, "num_partitions": partitions, "replication_factor": 1,
                        "assignments": [], "configs": []} for name in names],
            "timeout_ms": 10_000, "validate_only": False}


@pytest.fixture
async def broker(tmp_path):
    async with open_broker(tmp_path, **QUOTA_WINDOW) as broker:
        yield broker


def quota_applied(broker, client_id) -> bool:
    """Has the broker replayed the quota (and so handed it to its quota managers)?"""
    return (("client-id", client_id),) in broker.topics.client_quotas()


async def wait_for_quota(broker, client_id):
    with trio.fail_after(TIMEOUT_S):
        while not quota_applied(broker, client_id):
            await trio.sleep(0.01)


@contextlib.asynccontextmanager
async def connection_under_quota(broker, client_id: str):
    """Give ``client_id`` the mutation quota (RATE), wait until the broker applies it, and
    yield a connection of that client."""
    bootstrap = bootstrap_servers(broker)
    await set_mutation_quota(bootstrap, client_id)
    await wait_for_quota(broker, client_id)
    async with open_cluster(bootstrap, client_id=client_id) as cluster:
        yield await cluster.any_connection()


@pytest.mark.trio
async def test_a_create_topics_burst_is_throttled_then_succeeds_after_the_throttle_time(broker):
    names = [fresh() for _ in range(3)]
    async with connection_under_quota(broker, "burst") as connection:
        response = await connection.request(CREATE_TOPICS, topics_body(names), api_version=7)
        codes = {t.name: t.error_code for t in response.topics}
        # 4 tokens: the first topic takes 3, the second drives the bucket to -2,
        # the third finds it empty. Throttle: 2 tokens / 2 per s = 1000 ms.
        assert codes == {names[0]: ErrorCode.NONE, names[1]: ErrorCode.NONE, names[2]: THROTTLED}
        refused = next(t for t in response.topics if t.name == names[2])
        assert refused.error_message == "The throttling quota has been exceeded."
        # At most 1000 ms; less by the tokens that refilled while the topics were created.
        assert 500 <= response.throttle_time_ms <= 1000
        assert broker.topics.get(names[2]) is None

        await trio.sleep(response.throttle_time_ms / 1000)
        again = await connection.request(CREATE_TOPICS, topics_body(names[2:]), api_version=7)
        assert [t.error_code for t in again.topics] == [ErrorCode.NONE]
        assert broker.topics.get(names[2]).num_partitions == 3


@pytest.mark.trio
async def test_old_versions_are_permissive_but_report_the_throttle_time(broker):
    names = [fresh() for _ in range(3)]
    async with connection_under_quota(broker, "old-client") as connection:
        response = await connection.request(CREATE_TOPICS, topics_body(names), api_version=5)
    assert [t.error_code for t in response.topics] == [ErrorCode.NONE] * 3  # 9 partitions: 4 - 9 = -5
    assert 1500 <= response.throttle_time_ms <= 2500  # 5 tokens / 2 per s, less the refill meanwhile


@pytest.mark.trio
async def test_create_partitions_and_delete_topics_count_partitions(broker):
    bootstrap = bootstrap_servers(broker)
    topics = [fresh() for _ in range(2)]
    async with open_cluster(bootstrap, client_id="setup") as cluster:
        await (await cluster.any_connection()).request(CREATE_TOPICS, topics_body(topics, partitions=2))
    async with connection_under_quota(broker, "grower") as connection:
        grow = {"topics": [{"name": name, "count": 7, "assignments": None} for name in topics],
                "timeout_ms": 10_000, "validate_only": False}
        response = await connection.request(CREATE_PARTITIONS, grow, api_version=3)
        # 5 new partitions each: the first drives 4 tokens to -1, the second is refused.
        assert [r.error_code for r in response.results] == [ErrorCode.NONE, THROTTLED]
        assert 200 <= response.throttle_time_ms <= 500  # 1 token / 2 per s, less the refill meanwhile
        await trio.sleep(response.throttle_time_ms / 1000)
        # Deleting counts each topic's 7 partitions: the bucket is back at 0
        # (not negative), so the first is accepted and the second refused.
        deleted = await connection.request(DELETE_TOPICS, {"topic_names": topics, "timeout_ms": 10_000},
                                           api_version=5)
        assert [r.error_code for r in deleted.responses] == [ErrorCode.NONE, THROTTLED]
        assert broker.topics.get(topics[0]) is None and broker.topics.get(topics[1]) is not None


# -- the unmodified real clients ---------------------------------------------------------

@pytest.fixture(scope="module")
def broker_thread(tmp_path_factory):
    with BrokerThread(tmp_path_factory.mktemp("mutations"), **QUOTA_WINDOW) as thread:
        yield thread


def set_quota_from_thread(thread: BrokerThread, client_id: str) -> None:
    trio.run(set_mutation_quota, thread.bootstrap, client_id)
    deadline = time.monotonic() + TIMEOUT_S
    while not thread.call(quota_applied, thread.broker, client_id):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_kafka_python_gets_throttling_quota_exceeded_then_succeeds(broker_thread):
    set_quota_from_thread(broker_thread, "kafka-python-admin")
    admin = KafkaAdminClient(bootstrap_servers=broker_thread.bootstrap, client_id="kafka-python-admin")
    try:
        names = [fresh() for _ in range(3)]
        new = {name: {"num_partitions": 3, "replication_factor": 1} for name in names}
        result = admin.create_topics(new, raise_errors=False)
        codes = {t["name"]: t["error_code"] for t in result["topics"]}
        assert codes == {names[0]: 0, names[1]: 0, names[2]: THROTTLED}
        time.sleep(1.0)  # the throttle time: 2 missing tokens at 2 per second
        result = admin.create_topics({names[2]: new[names[2]]}, raise_errors=False)
        assert [t["error_code"] for t in result["topics"]] == [0]
    finally:
        admin.close()


def test_confluent_kafka_old_create_topics_version_is_permissive(broker_thread):
    set_quota_from_thread(broker_thread, "librdkafka-admin")
    admin = AdminClient({"bootstrap.servers": broker_thread.bootstrap, "client.id": "librdkafka-admin"})
    names = [fresh() for _ in range(3)]
    futures = admin.create_topics([ConfluentNewTopic(name, 3, 1) for name in names])
    for future in futures.values():
        assert future.result(timeout=TIMEOUT_S) is None  # librdkafka speaks CreateTopics < v6
    for name in names:
        assert broker_thread.call(broker_thread.broker.topics.get, name).num_partitions == 3
    # The quota did count the 9 partitions: the client was throttled, not refused.
    (metric,) = [m for m in broker_thread.call(mutation_metrics, broker_thread.broker)
                 if m.client_id == "librdkafka-admin"]
    assert metric.rate > 0 and metric.throttle_time_ms > 0


def mutation_metrics(broker):
    return broker.services.quotas.controller_mutation.client_metrics(int(broker.monotonic_ms()))
