"""Consumer group members in threads, each logging its rebalance callbacks.

A ``Member`` is one ``SyncConsumer`` subscribed to ``orders`` in a thread of its
own, polling until told to stop. Its ``on_assign`` / ``on_revoke`` /
``on_lost`` callbacks (Java's ``ConsumerRebalanceListener``) append to a shared
``Journal`` and keep ``owned``, the partitions it owns now.

What the callbacks receive depends on the group's rebalance protocol, as in
Kafka's Java client:

- **eager** (``range``, ``roundrobin``): before every rebalance a member revokes
  *everything* it owns, then is assigned its whole new set;
- **cooperative** (``cooperative-sticky``, KIP-429): a member revokes only the
  partitions that move away, and is assigned only the ones it gains; a
  partition that moves is revoked in one rebalance and assigned in a second.
"""

from __future__ import annotations

import threading
import time

from minikafka_clients import SyncConsumer

TOPIC = "orders"
POLL_S = 0.2
STABLE_TIMEOUT_S = 30.0
QUIET_S = 0.5  # no callback for this long after the assignment looks right: settled


class Journal:
    """Every member's callbacks, in order (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[dict] = []
        self.last_event = time.monotonic()

    def add(self, member: str, kind: str, partitions) -> None:
        with self.lock:
            self.events.append({"member": member, "event": kind,
                                "partitions": sorted(p for _, p in partitions)})
            self.last_event = time.monotonic()

    def take(self) -> list[dict]:
        """The events since the last ``take``."""
        with self.lock:
            events, self.events = self.events, []
            return events


class Member(threading.Thread):
    """One group member polling in its own thread until ``stop()``."""

    def __init__(self, name: str, config: dict, journal: Journal):
        super().__init__(name=name, daemon=True)
        self.config = config
        self.journal = journal
        self.owned: set[int] = set()
        self.generation_id = -1
        self._stopping = threading.Event()
        self.error: BaseException | None = None

    def on_assign(self, consumer, partitions) -> None:
        self.owned |= {p for _, p in partitions}
        self.journal.add(self.name, "assigned", partitions)

    def on_revoke(self, consumer, partitions) -> None:
        self.owned -= {p for _, p in partitions}
        self.journal.add(self.name, "revoked", partitions)

    def on_lost(self, consumer, partitions) -> None:
        self.owned -= {p for _, p in partitions}
        self.journal.add(self.name, "lost", partitions)

    def run(self) -> None:
        try:
            with SyncConsumer(self.config, on_assign=self.on_assign, on_revoke=self.on_revoke,
                              on_lost=self.on_lost) as consumer:
                consumer.subscribe([TOPIC])
                while not self._stopping.is_set():
                    consumer.poll(POLL_S)
                    self.generation_id = consumer.group_metadata().generation_id
        except BaseException as error:  # reported by the main thread
            self.error = error

    def stop(self) -> None:
        """Close the consumer (a dynamic member leaves the group; a static one does not)."""
        self._stopping.set()
        self.join(timeout=STABLE_TIMEOUT_S)


def wait_settled(members: list[Member], partitions: int, journal: Journal) -> None:
    """Wait until the live members own every partition once, balanced, and callbacks went quiet."""
    deadline = time.monotonic() + STABLE_TIMEOUT_S
    while time.monotonic() < deadline:
        for member in members:
            if member.error is not None:
                raise RuntimeError(f"{member.name} failed: {member.error!r}")
        owned = [member.owned for member in members]
        sizes = [len(o) for o in owned]
        complete = sorted(p for o in owned for p in o) == list(range(partitions))
        if complete and max(sizes) - min(sizes) <= 1 and time.monotonic() - journal.last_event > QUIET_S:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the group did not settle: {[(m.name, sorted(m.owned)) for m in members]}")


def member_config(bootstrap_server: str, group: str, strategy: str, instance_id: str | None = None) -> dict:
    """A member's settings: faster heartbeats than Kafka's default (3 s) so rebalances are quick."""
    config = {"bootstrap.servers": bootstrap_server, "group.id": group,
              "partition.assignment.strategy": strategy, "enable.auto.commit": False,
              "auto.offset.reset": "latest", "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 300, "fetch.max.wait.ms": 100}
    if instance_id is not None:
        config["group.instance.id"] = instance_id
    return config
