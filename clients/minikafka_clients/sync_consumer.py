"""The synchronous Consumer: the Trio ``Consumer`` in a background thread.

Like ``sync.SyncClient``: a thread runs ``trio.run``, holds the consumer, and
each blocking method forwards its coroutine there with ``trio.from_thread``.

The one subtlety is the rebalance callbacks. Kafka runs ``on_assign`` /
``on_revoke`` in the application's thread, inside ``poll()``, so a callback
may call the consumer (``commit()`` in ``on_revoke`` is the classic case).
Here the membership task in the Trio thread reaches a callback while the
application's thread is blocked in some call. So a callback becomes a
*request*: the Trio side queues ``(callback, partitions, done)`` and waits for
``done``; the application's thread, in ``_drive``, runs every queued callback
itself (where it may call the consumer again) while waiting for its own call
to finish. A rebalance therefore proceeds while the application is inside a
consumer call, exactly as with Kafka's consumer, whose rebalances proceed in
``poll()``.
"""

from __future__ import annotations

import math
import threading

import trio

from .consumer import Consumer


class SyncConsumer:
    """A blocking Kafka consumer. ``with SyncConsumer(config) as c: c.subscribe([...])``.

    Thread-safe: calls are serialised; callbacks run in the calling thread.
    Methods and arguments are ``Consumer``'s.
    """

    def __init__(self, config: dict, *, on_assign=None, on_revoke=None, on_lost=None):
        self._consumer = Consumer(config, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        self._lock = threading.RLock()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._token = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,),
                                        name="minikafka-consumer", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    async def _main(self) -> None:
        self._stop, self._exited = trio.Event(), trio.Event()
        # Unbuffered: a send waits until the caller's thread has taken it, so
        # the "finished" message of close() is received before the Trio run
        # can end (a buffered one could leave the caller reading from a
        # finished run: RunFinishedError).
        self._requests_in, self._requests = trio.open_memory_channel(0)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                # This task enters and exits the consumer: a nursery is closed
                # by the task that opened it.
                async with self._consumer:
                    self._consumer.callback_runner = self._callback_in_caller_thread
                    self._token = trio.lowlevel.current_trio_token()
                    self._started.set()
                    await self._stop.wait()
                self._exited.set()
        except BaseException as exc:  # reported to the constructor
            self._error = exc
            self._started.set()

    async def _callback_in_caller_thread(self, callback, partitions) -> None:
        done = trio.Event()
        await self._requests_in.send((callback, partitions, done))
        await done.wait()

    def _drive(self, method, *args, **kwargs):
        """Run ``await method(*args)`` in the Trio thread; run callbacks here meanwhile."""
        if self._token is None:
            raise RuntimeError("the consumer is closed")
        outcome = {}

        async def call():
            try:
                outcome["value"] = await method(*args, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc
            await self._requests_in.send(None)  # "finished"

        with self._lock:
            trio.from_thread.run_sync(self._nursery.start_soon, call, trio_token=self._token)
            callback_error = None
            while (request := trio.from_thread.run(self._requests.receive, trio_token=self._token)):
                callback, partitions, done = request
                try:
                    callback(self, partitions)
                except Exception as exc:  # raised from the call, as Kafka's poll() does
                    callback_error = callback_error or exc
                finally:
                    trio.from_thread.run_sync(done.set, trio_token=self._token)
        if "error" in outcome:
            raise outcome["error"]
        if callback_error is not None:
            raise callback_error
        return outcome.get("value")

    def _sync(self, function, *args):
        """A non-blocking Consumer method, run in the Trio thread (its state lives there)."""
        return trio.from_thread.run_sync(function, *args, trio_token=self._token)

    # -- the Consumer's methods, blocking -------------------------------------------

    def subscribe(self, topics, **callbacks):
        return self._drive(self._consumer.subscribe, topics, **callbacks)

    def unsubscribe(self):
        return self._drive(self._consumer.unsubscribe)

    def assign(self, partitions):
        return self._sync(self._consumer.assign, partitions)

    def assignment(self):
        return self._sync(self._consumer.assignment)

    def poll(self, timeout: float = math.inf):
        return self._drive(self._consumer.poll, timeout)

    def seek(self, partition, offset):
        return self._sync(self._consumer.seek, partition, offset)

    def seek_to_beginning(self, partitions=None):
        return self._drive(self._consumer.seek_to_beginning, partitions)

    def seek_to_end(self, partitions=None):
        return self._drive(self._consumer.seek_to_end, partitions)

    def position(self, partition):
        return self._drive(self._consumer.position, partition)

    def offsets_for_times(self, timestamps):
        return self._drive(self._consumer.offsets_for_times, timestamps)

    def committed(self, partitions):
        return self._drive(self._consumer.committed, partitions)

    def commit(self, offsets=None, *, asynchronous=False, on_commit=None):
        return self._drive(self._consumer.commit, offsets, asynchronous=asynchronous,
                           on_commit=on_commit)

    def lag(self, partition):
        return self._sync(self._consumer.lag, partition)

    def pause(self, partitions):
        return self._sync(self._consumer.pause, partitions)

    def resume(self, partitions):
        return self._sync(self._consumer.resume, partitions)

    def close(self) -> None:
        """Commit (auto-commit), leave the group, stop the thread. Idempotent."""
        if self._token is None:
            return
        try:
            self._drive(self._shutdown)
        finally:
            self._token = None
            self._thread.join(timeout=10)

    async def _shutdown(self) -> None:
        self._stop.set()  # the main task leaves ``async with consumer``: close()
        await self._exited.wait()

    def __enter__(self) -> "SyncConsumer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
