"""``sync.TrioPortal``, the one machinery under every blocking client, on a small fake client.

The fake is an async context manager whose methods await, fail, or hand a
callback to the caller's thread (as the consumer does with ``on_revoke``);
its exit hands one too (as a consumer leaving its group does).
"""

from __future__ import annotations

import threading
import time

import pytest
import trio

from minikafka_clients.sync import SyncFace, TrioPortal, blocking


class FakeClient:
    """Lives in the portal's Trio thread; ``portal`` is set once it is open."""

    def __init__(self):
        self.portal: TrioPortal | None = None
        self.seen: list = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.portal.in_caller_thread(
            lambda: self.seen.append(("exit", threading.current_thread().name)))

    async def echo(self, value, delay_s: float = 0):
        await trio.sleep(delay_s)
        return value

    async def fail(self):
        raise KeyError("boom")

    async def with_callback(self, callback):
        await self.portal.in_caller_thread(callback)
        return "finished"

    def trio_thread_name(self):
        return threading.current_thread().name


class SyncFake(SyncFace):
    async_class = FakeClient
    echo = blocking(FakeClient.echo)
    fail = blocking(FakeClient.fail)
    with_callback = blocking(FakeClient.with_callback)
    trio_thread_name = blocking(FakeClient.trio_thread_name)

    def __init__(self):
        super().__init__()
        self._client.portal = self._portal


def test_calls_return_results_and_raise_errors_in_the_calling_thread():
    with SyncFake() as fake:
        assert fake.echo(42) == 42
        with pytest.raises(KeyError, match="boom"):
            fake.fail()
        assert fake.trio_thread_name() == "minikafka-fakeclient"


def test_callbacks_run_in_the_calling_thread_and_may_call_the_client():
    with SyncFake() as fake:
        ran = []
        # The callback calls the client again (commit() in on_revoke, say).
        assert fake.with_callback(lambda: ran.append((threading.current_thread().name,
                                                      fake.echo("inner")))) == "finished"
        assert ran == [(threading.current_thread().name, "inner")]


def test_a_callback_error_is_raised_after_the_call_finished():
    with SyncFake() as fake:
        with pytest.raises(ZeroDivisionError):
            fake.with_callback(lambda: 1 / 0)
        assert fake.echo("still usable") == "still usable"


def test_calls_from_several_threads_run_concurrently():
    with SyncFake() as fake:
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(fake.echo(i, 0.3)))
                   for i in range(5)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == list(range(5))
        assert time.monotonic() - started < 1.2  # not 5 x 0.3 s one after the other


def test_a_callback_with_no_caller_waits_for_the_next_call():
    with SyncFake() as fake:
        ran = []
        portal = fake._portal
        # A Trio task (the consumer's membership, say) reaches a callback while
        # no thread is in a call: it is parked until one is.
        portal.run_sync(lambda: portal._nursery.start_soon(
            portal.in_caller_thread, lambda: ran.append(threading.current_thread().name)))
        time.sleep(0.05)
        assert ran == []
        fake.echo(1)
        assert ran == [threading.current_thread().name]


def test_close_runs_the_exits_callbacks_here_and_ends_abandoned_calls():
    fake = SyncFake()
    abandoned = []
    # A call whose caller went away (Ctrl-C): close() must not wait for it forever.
    thread = threading.Thread(target=lambda: abandoned.append(_outcome(fake.echo, 1, 3600)),
                              daemon=True)
    thread.start()
    time.sleep(0.05)
    fake.close()
    thread.join(5)
    assert fake._client.seen == [("exit", threading.current_thread().name)]
    assert abandoned == ["RuntimeError: the client was closed during the call"]
    fake.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        fake.echo(2)


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
