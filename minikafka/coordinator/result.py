"""What a group coordinator operation returns (both protocols).

The coordinator is sans-I/O (Kafka's coordinator runtime is the model): an
operation takes a request and ``now_ms`` and returns a ``CoordinatorResult``:

- ``records``: ``(key, value)`` pairs to append to the group's
  ``__consumer_offsets`` partition, in Kafka's byte format. They are *already
  applied* to the coordinator's memory; the runtime only appends them (and a
  new coordinator rebuilds the same state by ``replay()``-ing them).
- ``response``: the response for this request as a plain dict with the
  response declaration's field names, or None if the request is *parked*
  (a JoinGroup waiting for the rebalance, a SyncGroup waiting for the
  leader). A parked request has a ``ticket``.
- ``deliveries``: ``(ticket, response)`` for parked requests (earlier ones)
  that this operation completed.

Runtime contract: append ``records`` (and wait for them to be written)
*before* sending ``response`` or any delivery. A client must never learn of
a generation or commit that a crash could lose. If an append fails, the
coordinator's memory is ahead of the log: drop the coordinator and reload
it from the log (Kafka does the same when it loses the partition).
"""

from __future__ import annotations

import dataclasses

from minikafka.coordinator.records import Record


@dataclasses.dataclass
class CoordinatorResult:
    """The outcome of one coordinator operation (see the module docstring)."""

    records: list[Record] = dataclasses.field(default_factory=list)
    response: dict | None = None
    ticket: int | None = None  # set when the request was parked
    deliveries: list[tuple[int, dict]] = dataclasses.field(default_factory=list)
