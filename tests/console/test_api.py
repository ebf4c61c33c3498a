"""The console's HTTP API against a real broker, in this Trio run, over real sockets."""

import json
import urllib.error
import urllib.request

import trio

from minikafka.console.app import serve_console
from minikafka.testing import bootstrap_servers, open_broker
from minikafka_clients import Admin, NewTopic, Producer


async def http(method: str, url: str) -> tuple[int, object]:
    """``(status, parsed JSON or text)`` of one request, made in a worker thread."""
    def call():
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get_content_type()
        return status, json.loads(body) if kind == "application/json" else body.decode()
    return await trio.to_thread.run_sync(call)


async def wait_for_state(base: str, done, timeout_s: float = 15.0) -> dict:
    """Poll ``GET /api/state`` until ``done(state)``."""
    with trio.fail_after(timeout_s):
        while True:
            status, state = await http("GET", f"{base}/api/state")
            assert status == 200
            if done(state):
                return state
            await trio.sleep(0.2)


async def test_state_history_events_and_page(tmp_path):
    async with open_broker(tmp_path / "broker", offsets_topic_replication_factor=1) as broker:
        bootstrap = bootstrap_servers(broker)
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            await admin.create_topics([NewTopic("orders", num_partitions=2, replication_factor=1)])
            async with Producer({"bootstrap.servers": bootstrap, "linger.ms": 0}) as producer:
                for i in range(10):
                    await producer.send("orders", b"v%d" % i, partition=i % 2)
                await producer.flush()
            await admin.alter_consumer_group_offsets("billing", {("orders", 0): 2, ("orders", 1): 5})
        async with trio.open_nursery() as nursery:
            base = await nursery.start(serve_console, bootstrap, "127.0.0.1:0")

            # Polls run every source at once: end offsets follow one poll after the topics.
            state = await wait_for_state(base, lambda s: s["groups"] and all(
                row["end"] is not None for row in s["groups"][0]["lag"]))
            [only] = state["brokers"]
            assert (only["id"], only["state"], only["alive"], only["controller"]) == (1, "alive", True, True)
            assert state["controls"] is False
            [orders] = state["topics"]
            assert orders["name"] == "orders"
            assert [(p["partition"], p["leader"], p["replicas"], p["isr"], p["under_replicated"])
                    for p in orders["partitions"]] == [(0, 1, [1], [1], False), (1, 1, [1], [1], False)]
            [group] = state["groups"]
            assert group["group_id"] == "billing" and group["members"] == []
            assert [(r["topic"], r["partition"], r["committed"], r["end"], r["lag"]) for r in group["lag"]] == [
                ("orders", 0, 2, 5, 3), ("orders", 1, 5, 5, 0)]

            status, history = await http("GET", f"{base}/api/history")
            assert status == 200 and history["throughput"][0]["topic"] == "orders"
            assert {(s["group_id"], s["partition"]) for s in history["lag"]} == {("billing", 0), ("billing", 1)}

            async with Admin({"bootstrap.servers": bootstrap}) as admin:
                await admin.create_topics([NewTopic("payments", num_partitions=1, replication_factor=1)])
            status, feed = await http("GET", f"{base}/api/events?after=0&wait=10")
            assert status == 200
            assert [(e["type"], e["topic"]) for e in feed["events"]] == [("topic_created", "payments")]
            assert feed["last_seq"] == feed["events"][-1]["seq"]

            status, page = await http("GET", f"{base}/")
            assert status == 200 and 'id="brokers"' in page and "/static/console.js" in page
            status, script = await http("GET", f"{base}/static/console.js")
            assert status == 200 and "/api/state" in script
            nursery.cancel_scope.cancel()


async def test_actions_need_the_toolkit_and_a_known_action(tmp_path):
    async with open_broker(tmp_path / "broker") as broker:
        async with trio.open_nursery() as nursery:
            base = await nursery.start(serve_console, bootstrap_servers(broker), "127.0.0.1:0")
            status, answer = await http("POST", f"{base}/api/brokers/1/kill")
            assert status == 409 and answer["ok"] is False and "--cluster-dir" in answer["error"]
            status, answer = await http("POST", f"{base}/api/links/1/2/cut")
            assert status == 409
            status, answer = await http("POST", f"{base}/api/brokers/1/explode")
            assert status == 404 and "explode" in answer["error"]
            nursery.cancel_scope.cancel()
