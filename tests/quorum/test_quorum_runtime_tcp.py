"""Three QuorumRuntimes over real TCP on 127.0.0.1, speaking Kafka's protocol.

Each node is a tiny Trio server that decodes framed requests with
``minikafka.protocol.framing`` and answers through ``handle_raft_request``,
the function a broker's handlers will call. Real clock, short timeouts.
"""

from __future__ import annotations

import functools
import random

import trio

from minikafka.errors import ErrorCode
from minikafka.protocol import framing, messages
from minikafka.quorum import messages as m
from minikafka.quorum import wire
from minikafka.quorum.runtime import (QuorumRuntime, TcpTransport, handle_raft_request,
                                      parse_quorum_voters, quorum_config)
from minikafka.quorum.state import Role
from minikafka.quorum.storage import MemoryStorage

VOTERS = (1, 2, 3)
TICK_MS = 20


async def serve_raft(stream, runtime_of) -> None:
    """Answer framed quorum requests on one connection until it closes."""
    reader = framing.FrameReader()
    async with stream:
        async for data in stream:
            reader.receive_data(data)
            for frame in reader.frames():
                header, body_offset = framing.read_request_header(frame)
                body = messages.REQUESTS[header.request_api_key].decode(
                    frame[body_offset:], header.request_api_version)
                api_key, version = header.request_api_key, header.request_api_version
                response = await handle_raft_request(runtime_of(), api_key, body)
                await stream.send_all(framing.encode_response(api_key, version,
                                                              header.correlation_id, response))


async def start_node(nursery, node_id, runtimes, applied, voters_text, cluster_id):
    """Start one runtime inside its own cancel scope (returned: cancel = kill)."""
    voters = parse_quorum_voters(voters_text)
    transport = TcpTransport(node_id, voters, cluster_id=cluster_id, request_timeout_s=0.5)
    config = quorum_config(node_id, VOTERS, tick_ms=TICK_MS, election_timeout_ms=200,
                           fetch_timeout_ms=400, request_timeout_ms=100)
    runtime = runtimes[node_id] = QuorumRuntime(
        config, MemoryStorage(), transport, tick_ms=TICK_MS, cluster_id=cluster_id,
        rng=random.Random(node_id),
        on_commit=lambda entries: applied[node_id].extend(e.data for e in entries
                                                          if not e.is_control))
    scope = trio.CancelScope()

    async def run(task_status=trio.TASK_STATUS_IGNORED):
        with scope:
            await runtime.run(task_status=task_status)

    await nursery.start(run)
    return scope


async def wait_for_leader(runtimes) -> QuorumRuntime:
    with trio.fail_after(10):
        while True:
            await trio.sleep(0.02)
            live = [r for r in runtimes.values() if r.running]
            leaders = [r for r in live if r.role is Role.LEADER]
            if len(leaders) == 1 and all(r.leader_id == leaders[0].node_id
                                         and r.epoch == leaders[0].epoch for r in live):
                return leaders[0]


async def start_cluster(nursery, runtimes, applied, cluster_id="tcp-test"):
    listeners = {}
    for node_id in VOTERS:
        handler = (lambda n: lambda stream: serve_raft(stream, lambda: runtimes[n]))(node_id)
        listeners[node_id] = (await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")))[0]
    ports = {n: listeners[n].socket.getsockname()[1] for n in VOTERS}
    voters_text = ",".join(f"{n}@127.0.0.1:{ports[n]}" for n in VOTERS)
    return {n: await start_node(nursery, n, runtimes, applied, voters_text, cluster_id)
            for n in VOTERS}


async def commit(leader, values, applied, node_ids):
    offsets = [leader.propose(value) for value in values]
    with trio.fail_after(5):
        for offset in offsets:
            await leader.wait_committed(offset)
        while any(applied[n][-len(values):] != values for n in node_ids):
            await trio.sleep(0.02)


async def test_elect_and_commit_over_tcp_with_kafka_rpcs():
    runtimes: dict[int, QuorumRuntime] = {}
    applied = {n: [] for n in VOTERS}
    async with trio.open_nursery() as nursery:
        await start_cluster(nursery, runtimes, applied)
        leader = await wait_for_leader(runtimes)
        values = [b"over-tcp-%d" % i for i in range(3)]
        await commit(leader, values, applied, VOTERS)
        for node_id in VOTERS:
            assert applied[node_id] == values
        nursery.cancel_scope.cancel()


async def test_leader_killed_over_tcp_is_replaced():
    runtimes: dict[int, QuorumRuntime] = {}
    applied = {n: [] for n in VOTERS}
    async with trio.open_nursery() as nursery:
        scopes = await start_cluster(nursery, runtimes, applied)
        old = await wait_for_leader(runtimes)
        await commit(old, [b"before"], applied, VOTERS)
        scopes[old.node_id].cancel()  # its server now answers NOT_CONTROLLER
        new = await wait_for_leader(runtimes)
        assert new.node_id != old.node_id and new.epoch > old.epoch
        survivors = [n for n in VOTERS if n != old.node_id]
        await commit(new, [b"after"], applied, survivors)
        nursery.cancel_scope.cancel()


async def test_handle_raft_request_refuses_another_cluster_and_a_stopped_replica():
    runtime = QuorumRuntime(quorum_config(1, VOTERS), MemoryStorage(), transport=None,
                            cluster_id="mine")
    _, version, body = wire.encode_request(m.BeginQuorumEpochRequest(2, 1), "theirs", 1)
    request = messages.REQUESTS[53].decode(messages.REQUESTS[53].encode(body, version), version)
    answer = await handle_raft_request(runtime, 53, request)
    assert answer["error_code"] == ErrorCode.INCONSISTENT_CLUSTER_ID
    request.cluster_id = "mine"
    answer = await handle_raft_request(runtime, 53, request)
    assert answer["error_code"] == ErrorCode.NOT_CONTROLLER  # not running


def test_parse_quorum_voters_takes_kafka_syntax_and_bootstrap_servers():
    assert parse_quorum_voters("1@localhost:9093, 2@127.0.0.1:9095") == {
        1: ("localhost", 9093), 2: ("127.0.0.1", 9095)}
    assert parse_quorum_voters("a:1,b:2,[::1]:3") == {1: ("a", 1), 2: ("b", 2), 3: ("::1", 3)}
