"""The synchronous Consumer: the Trio ``Consumer`` in a background thread.

Built like every blocking client on ``sync.py``: a ``TrioPortal`` thread runs
``trio.run`` and holds the consumer, and each blocking method forwards its
call there and waits.

The one subtlety is the rebalance callbacks. Kafka runs ``on_assign`` /
``on_revoke`` in the application's thread, inside ``poll()``, so a callback
may call the consumer (``commit()`` in ``on_revoke`` is the classic case).
Here the membership task in the Trio thread reaches a callback while the
application's thread is blocked in some call, so the consumer's
``callback_runner`` hands the callback to that thread
(``TrioPortal.in_caller_thread``), which runs it, may call the consumer
again, and then goes back to waiting. A rebalance therefore proceeds while
the application is inside a consumer call, exactly as with Kafka's
consumer, whose rebalances proceed in ``poll()``. The callbacks receive the
``SyncConsumer``.
"""

from __future__ import annotations

from .consumer import Consumer
from .sync import SyncFace, blocking


class SyncConsumer(SyncFace):
    """A blocking Kafka consumer. ``with SyncConsumer(config) as c: c.subscribe([...])``.

    May be shared by threads; callbacks run in a thread that is in a call.
    Methods and arguments are ``Consumer``'s (``poll(timeout)`` in seconds).
    """

    async_class = Consumer

    def __init__(self, config: dict, *, on_assign=None, on_revoke=None, on_lost=None):
        super().__init__(config, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        self._portal.run_sync(setattr, self._client, "callback_runner", self._run_callback)

    async def _run_callback(self, callback, partitions) -> None:
        await self._portal.in_caller_thread(callback, self, partitions)

    subscribe = blocking(Consumer.subscribe)
    unsubscribe = blocking(Consumer.unsubscribe)
    subscription = blocking(Consumer.subscription)
    assign = blocking(Consumer.assign)
    assignment = blocking(Consumer.assignment)
    partitions_for = blocking(Consumer.partitions_for)
    poll = blocking(Consumer.poll)
    seek = blocking(Consumer.seek)
    seek_to_beginning = blocking(Consumer.seek_to_beginning)
    seek_to_end = blocking(Consumer.seek_to_end)
    position = blocking(Consumer.position)
    offsets_for_times = blocking(Consumer.offsets_for_times)
    committed = blocking(Consumer.committed)
    commit = blocking(Consumer.commit)
    lag = blocking(Consumer.lag)
    pause = blocking(Consumer.pause)
    resume = blocking(Consumer.resume)
    paused = blocking(Consumer.paused)
    wait_for_assignment = blocking(Consumer.wait_for_assignment)
    group_metadata = blocking(Consumer.group_metadata)
    metrics = blocking(Consumer.metrics)
