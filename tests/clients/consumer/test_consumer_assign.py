"""The bundled consumer without a group rebalance: assign, poll, seek, positions, commits."""

import time

import trio

from consumer_helpers import broker_with_topics, fast_group_config, produce_values, poll_until
from minikafka_clients.consumer import Consumer


async def test_assign_poll_keyed_messages_in_order(tmp_path):
    async with broker_with_topics(tmp_path, {"keys": 3}) as bootstrap:
        values = [f"{k}-{i}".encode() for i in range(20) for k in "abc"]
        await produce_values(bootstrap, "keys", values, key=lambda v: v[:1])
        config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
                  "fetch.max.wait.ms": 50}
        async with Consumer(config) as consumer:
            consumer.assign([("keys", p) for p in range(3)])
            got = (await poll_until([consumer], 60))[consumer]
        assert len(got) == 60
        by_key = {}
        for record in got:
            by_key.setdefault(record.key, []).append(record)
        for key, records in by_key.items():
            assert len({r.partition for r in records}) == 1  # one key, one partition
            assert [r.value for r in records] == [f"{key.decode()}-{i}".encode() for i in range(20)]
            assert [r.offset for r in records] == sorted(r.offset for r in records)
        assert all(r.topic == "keys" and r.timestamp_ms > 0 and r.headers == [] for r in got)


async def test_seek_position_offsets_for_times_lag_pause(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 1}) as bootstrap:
        before = int(time.time() * 1000)
        await produce_values(bootstrap, "t", [b"a", b"b", b"c"], partition=0)
        await trio.sleep(0.01)
        middle = int(time.time() * 1000)
        await produce_values(bootstrap, "t", [b"d", b"e"], partition=0)
        config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "latest",
                  "fetch.max.wait.ms": 50, "max.poll.records": 2}
        async with Consumer(config) as consumer:
            tp = ("t", 0)
            consumer.assign([tp])
            assert await consumer.position(tp) == 5  # latest
            assert await consumer.poll(0.2) == []
            await consumer.seek_to_beginning()
            assert [r.value for r in await consumer.poll(5)] == [b"a", b"b"]  # max.poll.records
            assert await consumer.position(tp) == 2
            assert consumer.lag(tp) == 3
            consumer.pause([tp])
            assert await consumer.poll(0.2) == []
            consumer.resume([tp])
            assert [r.value for r in await consumer.poll(5)] == [b"c", b"d"]
            found = await consumer.offsets_for_times({tp: before, ("t", 0): before})
            assert found == {tp: 0}
            assert (await consumer.offsets_for_times({tp: middle}))[tp] == 3
            assert (await consumer.offsets_for_times({tp: middle + 60_000}))[tp] is None
            consumer.seek(tp, 4)
            assert [r.value for r in await consumer.poll(5)] == [b"e"]
            assert consumer.lag(tp) == 0
            await consumer.seek_to_end()
            assert await consumer.position(tp) == 5


async def test_commit_committed_and_resume_from_commit(tmp_path):
    async with broker_with_topics(tmp_path, {"c": 2}) as bootstrap:
        await produce_values(bootstrap, "c", [b"x%d" % i for i in range(10)], partition=0)
        config = fast_group_config(bootstrap, "g-commit", **{"enable.auto.commit": False})
        async with Consumer(config) as consumer:
            consumer.assign([("c", 0), ("c", 1)])
            assert await consumer.committed([("c", 0)]) == {("c", 0): None}
            records = (await poll_until([consumer], 10))[consumer]
            assert len(records) == 10
            await consumer.commit()
            assert await consumer.committed([("c", 0), ("c", 1)]) == {("c", 0): 10, ("c", 1): 0}
            results = []
            await consumer.commit({("c", 0): 7}, asynchronous=True,
                                  on_commit=lambda err, offsets: results.append((err, offsets)))
            with trio.fail_after(5):
                while not results:
                    await trio.sleep(0.01)
            assert results == [(None, {("c", 0): 7})]
        async with Consumer(config) as again:
            again.assign([("c", 0)])
            assert [r.offset for r in (await poll_until([again], 3))[again]] == [7, 8, 9]


async def test_auto_commit_on_interval_and_close(tmp_path):
    async with broker_with_topics(tmp_path, {"ac": 1}) as bootstrap:
        await produce_values(bootstrap, "ac", [b"1", b"2", b"3"], partition=0)
        config = fast_group_config(bootstrap, "g-auto", **{"auto.commit.interval.ms": 100})
        async with Consumer(config) as consumer:
            consumer.assign([("ac", 0)])
            await poll_until([consumer], 3)
            with trio.fail_after(5):
                while (await consumer.committed([("ac", 0)]))[("ac", 0)] != 3:
                    await trio.sleep(0.05)
        await produce_values(bootstrap, "ac", [b"4"], partition=0)
        config["auto.commit.interval.ms"] = 60_000  # only close() commits now
        async with Consumer(config) as consumer:
            consumer.assign([("ac", 0)])
            assert [r.value for r in (await poll_until([consumer], 1))[consumer]] == [b"4"]
        async with Consumer(config) as consumer:
            assert await consumer.committed([("ac", 0)]) == {("ac", 0): 4}
