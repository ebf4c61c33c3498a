"""Front proxies: forwarding, cut (black hole), heal, slow, and who is connecting."""

import subprocess
import sys
import textwrap

import pytest
import trio

from minikafka.chaos import socket_owner
from minikafka.chaos.proxy import CLIENT, FrontProxy, LinkRules

HOST = "127.0.0.1"


async def echo(stream):
    async with stream:
        try:
            async for data in stream:
                await stream.send_all(data)
        except trio.BrokenResourceError:
            pass


@pytest.fixture
async def upstream_port(nursery):
    listeners = await nursery.start(trio.serve_tcp, echo, 0)
    return listeners[0].socket.getsockname()[1]


async def start_proxy(nursery, target_port, rules, identify=None, destination=1):
    kwargs = {"identify": identify} if identify else {}
    proxy = FrontProxy("test", HOST, 0, target_port, destination, rules, **kwargs)
    return await nursery.start(proxy.serve)


async def round_trip(stream, data=b"ping", timeout_s=1.0):
    """The echo of ``data``, or None if nothing came back in time; b"" if closed."""
    await stream.send_all(data)
    with trio.move_on_after(timeout_s):
        try:
            return await stream.receive_some(1024)
        except trio.BrokenResourceError:
            return b""
    return None


async def test_forwards_both_ways(nursery, upstream_port):
    port = await start_proxy(nursery, upstream_port, LinkRules())
    async with await trio.open_tcp_stream(HOST, port) as stream:
        assert await round_trip(stream, b"hello") == b"hello"
        assert await round_trip(stream, b"x" * 100) == b"x" * 100


async def test_cut_black_holes_open_and_new_connections_and_heal_closes_them(nursery, upstream_port):
    rules = LinkRules()
    port = await start_proxy(nursery, upstream_port, rules)
    old = await trio.open_tcp_stream(HOST, port)
    assert await round_trip(old) == b"ping"

    rules.cut_link(CLIENT, 1)
    assert await round_trip(old, timeout_s=0.3) is None  # silence, not a reset
    new = await trio.open_tcp_stream(HOST, port)  # accepted, but nothing passes
    assert await round_trip(new, timeout_s=0.3) is None

    rules.heal_link(CLIENT, 1)
    for stream in (old, new):  # their byte streams lost data: closed
        with trio.fail_after(2):
            assert await stream.receive_some(1024) == b""
        await stream.aclose()
    async with await trio.open_tcp_stream(HOST, port) as stream:
        assert await round_trip(stream) == b"ping"


async def test_cut_of_another_link_does_not_touch_this_one(nursery, upstream_port):
    rules = LinkRules()
    port = await start_proxy(nursery, upstream_port, rules)
    rules.cut_link(2, 1)
    rules.cut_link(CLIENT, 3)
    async with await trio.open_tcp_stream(HOST, port) as stream:
        assert await round_trip(stream) == b"ping"


async def test_slow_delays_each_direction_and_keeps_order(nursery, upstream_port):
    rules = LinkRules()
    port = await start_proxy(nursery, upstream_port, rules)
    rules.set_delay(CLIENT, 1, 100)
    async with await trio.open_tcp_stream(HOST, port) as stream:
        started = trio.current_time()
        assert await round_trip(stream, timeout_s=2) == b"ping"
        assert trio.current_time() - started >= 0.2  # 100 ms out, 100 ms back
        rules.set_delay(CLIENT, 1, 0)
        await trio.sleep(0.25)  # chunks already queued keep their due time
        started = trio.current_time()
        assert await round_trip(stream) == b"ping"
        assert trio.current_time() - started < 0.1


async def test_broker_down_closes_the_connection(nursery):
    with trio.socket.socket() as sock:  # a port with nothing behind it
        await sock.bind((HOST, 0))
        dead_port = sock.getsockname()[1]
    port = await start_proxy(nursery, dead_port, LinkRules())
    async with await trio.open_tcp_stream(HOST, port) as stream:
        with trio.fail_after(2):
            assert await round_trip(stream) == b""


CHILD = textwrap.dedent("""
    import socket, sys
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    sock.settimeout(1.0)
    sock.sendall(b"from-child")
    try:
        print(sock.recv(100).decode() or "closed")
    except socket.timeout:
        print("timeout")
""")


async def run_child(port: int) -> str:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port)], stdout=subprocess.PIPE, text=True)
    out, _ = await trio.to_thread.run_sync(child.communicate)
    return out.strip()


async def test_a_cut_between_brokers_applies_to_the_broker_process_only(nursery, upstream_port):
    """The proxy tells a "broker" process (here: a child) from a client (this test)."""
    rules = LinkRules()
    node_of_pid = {}

    def identify(peer_port, proxy_port):
        pid = socket_owner.owner_of(peer_port, proxy_port, list(node_of_pid))
        return node_of_pid.get(pid, CLIENT)

    port = await start_proxy(nursery, upstream_port, rules, identify)
    assert await run_child(port) == "from-child"

    rules.cut_link(2, 1)
    # The child is "broker 2": registered before its interpreter has even started.
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port)], stdout=subprocess.PIPE, text=True)
    node_of_pid[child.pid] = 2
    out, _ = await trio.to_thread.run_sync(child.communicate)
    assert out.strip() == "timeout"
    async with await trio.open_tcp_stream(HOST, port) as stream:  # a client: not cut
        assert await round_trip(stream) == b"ping"


async def test_socket_owner_finds_this_process(nursery, upstream_port):
    import os

    async with await trio.open_tcp_stream(HOST, upstream_port) as stream:
        local_port = stream.socket.getsockname()[1]
        assert socket_owner.owner_of(local_port, upstream_port, [os.getpid()]) == os.getpid()
        assert socket_owner.owner_of(local_port, upstream_port, [1]) is None
