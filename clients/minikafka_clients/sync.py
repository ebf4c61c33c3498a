"""The synchronous face of the Trio clients, for scripts, notebooks and the CLI.

The clients are Trio-native: a ``Cluster``, its connections and the tasks
that read them live inside one ``trio.run``. A blocking face runs that
``trio.run`` in a background thread (a ``TrioPortal``) and forwards each
call into it. Every blocking client is built from these pieces:

- ``TrioPortal(open_resource)``: the background thread. It enters one async
  context manager (``Admin(config)``, a producer with its hand-off pump, ...)
  and holds it open until ``close()``.
- ``TrioPortal.run(async_fn, ...)``: start ``async_fn`` as a task in the Trio
  thread and block the calling thread until it finishes; return its result
  or raise its exception. ``run_sync`` does the same for a plain function,
  ``run_sync_soon`` schedules one without waiting.
- ``SyncFace`` and ``blocking``: declare a blocking class over an async one
  in a few lines::

      class SyncAdmin(SyncFace):
          async_class = Admin
          create_topics = blocking(Admin.create_topics)

  ``SyncAdmin(config)`` builds ``Admin(config)`` in the Trio thread and
  ``SyncAdmin.create_topics(...)`` blocks on ``Admin.create_topics(...)``.

**Callbacks run in the caller's thread.** Kafka's consumer runs its rebalance
callbacks in the application's thread, inside ``poll()``, so a callback may
call the client again (``commit()`` in ``on_revoke`` is the classic case). A
task in the Trio thread that reaches such a callback calls
``in_caller_thread(callback, ...)``: the callback is handed to a thread that
is blocked in ``run()`` (the most recent one; if none is, the next one to
call), which runs it and then goes back to waiting for its own call. So each
blocked caller reads an *inbox*: a ``queue.SimpleQueue`` into which the Trio
thread puts callbacks to run and, last, the outcome of the call. An exception
of a callback is raised from the blocking call that ran it, after that call
has finished, as Kafka's ``poll()`` raises it.

Closing is a call too: ``close()`` tells the holder task to leave the context
manager and waits in its inbox (running callbacks, such as ``on_revoke`` while
a consumer leaves its group) until the exit is complete. Calls whose callers
went away (Ctrl-C) are cancelled then.

One face may be shared by threads: each call is a task of its own in the
Trio thread, and the calls of different threads run there concurrently.
"""

from __future__ import annotations

import functools
import inspect
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import outcome
import trio

_DONE, _CALLBACK = "done", "callback"  # the two kinds of inbox message


class TrioPortal:
    """A ``trio.run`` in a background thread that holds one resource open.

    Args:
        open_resource: called in the Trio thread; returns an async context
            manager whose value is the resource (the async client).
        name: the thread's name.

    Raises:
        whatever entering the context manager raised (e.g. no broker).

    Attributes:
        resource: what the context manager yielded. Touch it only through
            ``run`` / ``run_sync``: it belongs to the Trio thread.
    """

    def __init__(self, open_resource: Callable[[], AbstractAsyncContextManager], *,
                 name: str = "minikafka-client"):
        self.resource = None
        self._open_resource = open_resource
        self._token: trio.lowlevel.TrioToken | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        # Trio-thread state: the inboxes of the callers blocked in run(), oldest
        # first, and callbacks waiting for a caller.
        self._callers: list[queue.SimpleQueue] = []
        self._parked: list = []
        self._closer: queue.SimpleQueue | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), name=name,
                                        daemon=True)
        self._thread.start()
        self._started.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    # -- the Trio thread ----------------------------------------------------------

    async def _main(self) -> None:
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            held = await outcome.acapture(self._hold_resource)
            nursery.cancel_scope.cancel()  # calls whose callers went away
        if not self._started.is_set():
            self._startup_error = held.error
            self._started.set()
        else:
            self._closer.put((_DONE, held))

    async def _hold_resource(self) -> None:
        async with self._open_resource() as resource:
            self.resource = resource
            self._token = trio.lowlevel.current_trio_token()
            self._started.set()
            await self._stop.wait()

    def _add_caller(self, inbox: queue.SimpleQueue) -> None:
        """A thread now waits in ``inbox``; it takes the callbacks parked meanwhile."""
        self._callers.append(inbox)
        for message in self._parked:
            inbox.put(message)
        self._parked.clear()

    def _start_call(self, inbox: queue.SimpleQueue, call: Callable) -> None:
        self._add_caller(inbox)
        self._nursery.start_soon(self._call, inbox, call)

    async def _call(self, inbox: queue.SimpleQueue, call: Callable) -> None:
        result = await outcome.acapture(call)
        if isinstance(getattr(result, "error", None), trio.Cancelled):  # close() ended it
            result = outcome.Error(RuntimeError("the client was closed during the call"))
        self._callers.remove(inbox)
        inbox.put((_DONE, result))

    def _begin_close(self, inbox: queue.SimpleQueue) -> None:
        self._add_caller(inbox)
        self._closer = inbox
        self._stop.set()

    async def in_caller_thread(self, fn: Callable, *args) -> None:
        """In the Trio thread: run ``fn(*args)`` in a thread blocked in ``run()``; wait for it.

        An exception of ``fn`` is raised from that thread's call, not here.
        """
        done = trio.Event()
        token = self._token

        def run_there():
            try:
                fn(*args)
            finally:
                token.run_sync_soon(done.set)

        message = (_CALLBACK, run_there)
        if self._callers:
            self._callers[-1].put(message)  # the newest: an older one may have gone (Ctrl-C)
        else:
            self._parked.append(message)
        await done.wait()

    # -- the calling threads ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._token is None or not self._thread.is_alive()

    def run(self, async_fn, *args, **kwargs):
        """Run ``await async_fn(*args, **kwargs)`` in the Trio thread; block for it."""
        self._check_open()
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        trio.from_thread.run_sync(self._start_call, inbox,
                                  functools.partial(async_fn, *args, **kwargs),
                                  trio_token=self._token)
        return _serve(inbox)

    def run_sync(self, fn, *args, **kwargs):
        """Run plain ``fn(*args, **kwargs)`` in the Trio thread (it may touch Trio state)."""
        self._check_open()
        return trio.from_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                         trio_token=self._token)

    def run_sync_soon(self, fn, *args) -> None:
        """Schedule ``fn(*args)`` in the Trio thread and return at once."""
        self._check_open()
        self._token.run_sync_soon(fn, *args)

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("the client is closed")

    def close(self) -> None:
        """Leave the context manager (closing the client) and end the thread.

        Idempotent. Raises what leaving the context manager raised.
        """
        if self.closed:
            return
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        try:
            trio.from_thread.run_sync(self._begin_close, inbox, trio_token=self._token)
        except trio.RunFinishedError:
            pass  # the Trio thread is gone already: nothing left to close
        else:
            _serve(inbox)
        finally:
            self._token = None
            self._thread.join()


def _serve(inbox: queue.SimpleQueue):
    """Wait for a call's outcome, running the callbacks handed to this thread meanwhile."""
    callback_error = None
    while True:
        kind, payload = inbox.get()
        if kind == _DONE:
            break
        try:
            payload()
        except Exception as exc:  # raised from the call, as Kafka's poll() does
            callback_error = callback_error or exc
    result = payload.unwrap()
    if callback_error is not None:
        raise callback_error
    return result


def blocking(method: Callable) -> Callable:
    """A blocking method of a ``SyncFace`` that calls ``method`` of its async client.

    ``method`` may be a coroutine function (awaited in the Trio thread) or a
    plain one (called there).
    """
    if inspect.iscoroutinefunction(method):
        def call(self, *args, **kwargs):
            return self._portal.run(method, self._client, *args, **kwargs)
    else:
        def call(self, *args, **kwargs):
            return self._portal.run_sync(method, self._client, *args, **kwargs)
    return functools.wraps(method)(call)


class SyncFace:
    """The blocking face of an async client class (set ``async_class``).

    The constructor's arguments go to ``open_client``, which by default builds
    ``async_class(*args, **kwargs)``: an async context manager. A face that
    needs more around its client (a task of its own) overrides ``open_client``.
    Use it with ``with``, or call ``close()``.
    """

    async_class: type

    def __init__(self, *args, **kwargs):
        self._portal = TrioPortal(lambda: self.open_client(*args, **kwargs),
                                  name=f"minikafka-{self.async_class.__name__.lower()}")
        self._client = self._portal.resource

    def open_client(self, *args, **kwargs) -> AbstractAsyncContextManager:
        """Called in the Trio thread: the async context manager that yields the client."""
        return self.async_class(*args, **kwargs)

    def close(self) -> None:
        """Close the async client and end its Trio thread (idempotent)."""
        self._portal.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
