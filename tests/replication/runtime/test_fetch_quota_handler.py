"""Fetch and the quotas, on real brokers: the consumer fetch quota and the leader replication throttle.

The quota managers are scripted (``quota_fakes``) so each test decides what
the quota says and checks what Fetch does with it: cap ``max_bytes`` by the
quota window, record the answer's size, and answer an empty, throttled
response (taking the bytes back) when the quota says so; for a follower,
hold back a throttled partition while the leader quota is exceeded.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from quota_fakes import ScriptedFetchQuota, ScriptedQuotas, ScriptedReplicationQuota, install
from replication_runtime_helpers import FETCH, assert_ok, call, create_topic, produce, values_in, wait_for_isr

VALUE = b"x" * 1000
CLIENT_ID = "replication-runtime-test"  # what ``call`` sends


def fetch_body(topic: str, *, max_bytes: int = 1 << 20, session_id: int = 0, session_epoch: int = -1,
               replica_id: int = -1, fetch_offset: int = 0, partitions: bool = True) -> dict:
    parts = [{"partition": 0, "current_leader_epoch": -1, "fetch_offset": fetch_offset, "last_fetched_epoch": -1,
              "log_start_offset": -1, "partition_max_bytes": 1 << 20}]
    return {"replica_id": replica_id, "max_wait_ms": 0, "min_bytes": 1, "max_bytes": max_bytes,
            "isolation_level": 0, "session_id": session_id, "session_epoch": session_epoch,
            "topics": [{"topic": topic, "partitions": parts}] if partitions else [],
            "forgotten_topics_data": [], "rack_id": ""}


async def fetch(broker, topic: str, **fields):
    return await call(broker, FETCH, 12, fetch_body(topic, **fields))


def records_of(response) -> bytes:
    return b"".join(bytes(p.records or b"") for t in response.responses for p in t.partitions)


async def one_broker_with_batches(cluster, batches: int = 10):
    leader = await create_topic(cluster, "t", replication_factor=1)
    for _ in range(batches):
        assert_ok(await produce(leader, "t", [VALUE]))
    return leader


async def test_a_consumer_fetch_is_capped_by_the_quota_window_and_recorded(tmp_path):
    async with open_cluster(tmp_path, brokers=1) as cluster:
        leader = await one_broker_with_batches(cluster)
        quota = ScriptedFetchQuota(window_bytes=2500)
        install(leader, ScriptedQuotas(fetch=quota))
        response = await fetch(leader, "t")
        records = records_of(response)
        assert response.throttle_time_ms == 0
        assert len(values_in(records)) == 2  # ~1070-byte batches: two fit in 2500 bytes
        assert len(records) <= 2500
        assert quota.calls[0] == ("max_value_in_window", "ANONYMOUS", CLIENT_ID)
        assert quota.recorded() == [len(records)]
        assert quota.recorded("unrecord") == []


async def test_a_throttled_consumer_fetch_is_empty_and_unrecorded(tmp_path):
    async with open_cluster(tmp_path, brokers=1) as cluster:
        leader = await one_broker_with_batches(cluster)
        quota = ScriptedFetchQuota(throttle_time_ms=700)
        install(leader, ScriptedQuotas(fetch=quota))
        response = await fetch(leader, "t", session_epoch=0)  # a full fetch that asks for a session
        assert response.throttle_time_ms == 700
        assert response.error_code == ErrorCode.NONE
        assert response.responses == []
        assert response.session_id == 0  # no session is created by a throttled fetch
        assert leader.services.fetch_sessions.sessions == {}
        size = quota.recorded()[0]
        assert size > 10_000  # the ten batches were read, measured ...
        assert quota.recorded("unrecord") == [size]  # ... and taken back, since none was sent
        assert quota.recorded("throttle_time") == [700]  # the connection charged it and muted the client


async def test_a_throttled_incremental_fetch_leaves_its_session_as_it_was(tmp_path):
    async with open_cluster(tmp_path, brokers=1) as cluster:
        leader = await one_broker_with_batches(cluster, batches=3)
        quota = ScriptedFetchQuota()
        install(leader, ScriptedQuotas(fetch=quota))
        first = await fetch(leader, "t", session_epoch=0)
        assert len(values_in(records_of(first))) == 3 and first.session_id != 0
        session_id = first.session_id
        assert_ok(await produce(leader, "t", [b"new"]))
        quota.throttle_time_ms = 300
        throttled = await fetch(leader, "t", session_id=session_id, session_epoch=1, partitions=False)
        assert (throttled.error_code, throttled.session_id, throttled.responses) == (ErrorCode.NONE, session_id, [])
        assert throttled.throttle_time_ms == 300
        quota.throttle_time_ms = 0
        later = await fetch(leader, "t", session_id=session_id, session_epoch=2, partitions=False)
        assert later.error_code == ErrorCode.NONE
        assert values_in(records_of(later)) == [VALUE] * 3 + [b"new"]  # the session's offset did not move


async def test_no_fetch_quota_configured_means_no_quota_calls(tmp_path):
    async with open_cluster(tmp_path, brokers=1) as cluster:
        leader = await one_broker_with_batches(cluster)
        quota = ScriptedFetchQuota(window_bytes=1, throttle_time_ms=1000, enabled=False)
        install(leader, ScriptedQuotas(fetch=quota))
        response = await fetch(leader, "t")
        assert len(values_in(records_of(response))) == 10 and response.throttle_time_ms == 0
        assert quota.calls == []


async def test_the_leader_holds_back_a_throttled_out_of_sync_replica_while_over_its_rate(tmp_path):
    async with open_cluster(tmp_path, brokers=3, replica_lag_time_max_ms=500) as cluster:
        leader = await create_topic(cluster, "t")
        lagging = next(b for b in cluster.brokers if b != leader.node_id)
        await cluster.stop(lagging)
        for _ in range(3):
            assert_ok(await produce(leader, "t", [VALUE]))
        await wait_for_isr(cluster, "t", set(cluster.brokers))  # the stopped broker left the ISR
        in_sync = next(b for b in cluster.brokers if b != leader.node_id)
        quota = ScriptedReplicationQuota(throttled={("t", 0)}, exceeded=True)
        install(leader, ScriptedQuotas(leader_replication=quota))

        held_back = await fetch(leader, "t", replica_id=lagging)
        part = held_back.responses[0].partitions[0]
        assert part.error_code == ErrorCode.NONE and records_of(held_back) == b""
        assert part.high_watermark == 3  # the answer still tells where the log is
        served = await fetch(leader, "t", replica_id=in_sync)  # in sync: never held back
        assert len(values_in(records_of(served))) == 3

        quota.exceeded = False
        caught_up = await fetch(leader, "t", replica_id=lagging)
        assert len(values_in(records_of(caught_up))) == 3
        # Every byte sent for a throttled partition counts, to in-sync replicas too.
        assert quota.records[-2:] == [len(records_of(served)), len(records_of(caught_up))]

        quota.throttled.clear()  # not listed: never held back, never recorded
        quota.exceeded, before = True, len(quota.records)
        unlisted = await fetch(leader, "t", replica_id=lagging)
        assert len(values_in(records_of(unlisted))) == 3 and len(quota.records) == before
