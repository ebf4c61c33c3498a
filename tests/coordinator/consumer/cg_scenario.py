"""A scenario harness for the KIP-848 consumer group coordinator, with an explicit clock.

``Scenario`` drives one ``ConsumerGroupCoordinator`` over fake topics and
simulated clients. A ``Client`` behaves like a well-behaved consumer: it
owns what the last assignment gave it, gives up revoked partitions at once
and reports what it owns in the next heartbeat.

After every step the scenario checks the invariants the protocol promises:

- no partition is owned by two clients (as the clients see it), nor by two
  members (as the coordinator sees it);
- replaying every record written so far into a fresh coordinator gives the
  same state as the live one.
"""

from __future__ import annotations

import dataclasses
import uuid

from minikafka.coordinator.consumer.coordinator import ConsumerGroupConfig, ConsumerGroupCoordinator
from minikafka.errors import ErrorCode
from minikafka.protocol.codec import Struct

GROUP = "g"


@dataclasses.dataclass
class Topic:
    name: str
    topic_id: bytes
    num_partitions: int


class FakeTopics:
    """A ``TopicMetadataProvider``: name -> (id, partition count)."""

    def __init__(self, **partition_counts: int):
        self.by_name: dict[str, Topic] = {}
        for name, count in partition_counts.items():
            self.create(name, count)

    def create(self, name: str, num_partitions: int) -> Topic:
        topic = Topic(name, uuid.uuid5(uuid.NAMESPACE_DNS, name).bytes, num_partitions)
        self.by_name[name] = topic
        return topic

    def get(self, name):
        return self.by_name.get(name)

    def get_by_id(self, topic_id):
        return next((t for t in self.by_name.values() if t.topic_id == topic_id), None)

    def names(self):
        return sorted(self.by_name)

    def id(self, name: str) -> bytes:
        return self.by_name[name].topic_id


def heartbeat_request(member_id, member_epoch, *, group_id=GROUP, instance_id=None, rack_id=None,
                      rebalance_timeout_ms=-1, subscribed_topic_names=None, subscribed_topic_regex=None,
                      server_assignor=None, topic_partitions=None) -> Struct:
    return Struct(group_id=group_id, member_id=member_id, member_epoch=member_epoch,
                  instance_id=instance_id, rack_id=rack_id, rebalance_timeout_ms=rebalance_timeout_ms,
                  subscribed_topic_names=subscribed_topic_names,
                  subscribed_topic_regex=subscribed_topic_regex, server_assignor=server_assignor,
                  topic_partitions=topic_partitions)


@dataclasses.dataclass
class Client:
    """A simulated consumer: member id, epoch and the partitions it owns."""

    member_id: str
    topics: list[str]
    instance_id: str | None = None
    regex: str | None = None
    assignor: str | None = None
    rebalance_timeout_ms: int = 60000
    epoch: int = 0
    owned: dict = dataclasses.field(default_factory=dict)  # topic id -> set
    last_response: dict | None = None

    def owned_list(self):
        return [{"topic_id": t, "partitions": sorted(p)} for t, p in sorted(self.owned.items()) if p]


class Scenario:
    """One coordinator, its written log, a clock and clients."""

    def __init__(self, topics: FakeTopics | None = None, **config):
        self.topics = topics or FakeTopics(t=6)
        self.counter = 0
        self.coordinator = ConsumerGroupCoordinator(self.topics, ConsumerGroupConfig(**config),
                                                    new_member_id=self._member_id)
        self.log: list = []
        self.now_ms = 0
        self.clients: dict[str, Client] = {}

    def _member_id(self):
        self.counter += 1
        return f"generated-{self.counter}"

    @property
    def group(self):
        return self.coordinator.groups[GROUP]

    # -- driving --------------------------------------------------------------------

    def send(self, request, version=1):
        result = self.coordinator.consumer_group_heartbeat(request, self.now_ms, version=version,
                                                           client_id="client", client_host="/127.0.0.1")
        self.log.extend(result.records)
        self.check()
        return result.response

    def join(self, name, topics=("t",), **kwargs) -> dict:
        client = Client(member_id=kwargs.pop("member_id", name), topics=list(topics), **kwargs)
        self.clients[name] = client
        return self.heartbeat(name, full=True)

    def heartbeat(self, name, full=False) -> dict:
        """One heartbeat of a well-behaved client; it applies the response."""
        c = self.clients[name]
        full = full or c.epoch == 0
        request = heartbeat_request(
            c.member_id, c.epoch, instance_id=c.instance_id if full else None,
            rebalance_timeout_ms=c.rebalance_timeout_ms if full else -1,
            subscribed_topic_names=c.topics if full else None,
            subscribed_topic_regex=c.regex if full else None,
            server_assignor=c.assignor if full else None,
            topic_partitions=[] if c.epoch == 0 else c.owned_list())
        response = self.send(request)
        c.last_response = response
        if response["error_code"] == ErrorCode.NONE:
            c.epoch = response["member_epoch"]
            if response.get("assignment") is not None:
                # Revoke what is gone, take what is new (a real client commits
                # offsets of revoked partitions before its next heartbeat).
                c.owned = {tp["topic_id"]: set(tp["partitions"])
                           for tp in response["assignment"]["topic_partitions"]}
        elif response["error_code"] in (ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID):
            c.owned, c.epoch = {}, 0  # abandon everything and rejoin
        self.check()
        return response

    def leave(self, name, epoch=-1) -> dict:
        c = self.clients.pop(name) if epoch == -1 else self.clients[name]
        response = self.send(heartbeat_request(c.member_id, epoch, instance_id=c.instance_id))
        c.owned = {}
        return response

    def crash(self, name) -> None:
        """The client process dies: it owns nothing, and it stops heartbeating."""
        self.clients.pop(name)

    def advance(self, ms: int):
        self.now_ms += ms
        result = self.coordinator.poll_timers(self.now_ms)
        self.log.extend(result.records)
        self.check()
        return result

    def round(self, times=1):
        for _ in range(times):
            for name in list(self.clients):
                self.heartbeat(name)

    def converge(self, max_rounds=10):
        """Heartbeat everyone until the group is STABLE and every client owns its target."""
        for _ in range(max_rounds):
            self.round()
            if self.is_converged():
                return
        raise AssertionError(f"did not converge: {self.describe_owned()}")

    def is_converged(self) -> bool:
        group = self.group
        if group.state.value != "Stable":
            return False
        return all(_norm(c.owned) == _norm(group.target_of(c.member_id)) for c in self.clients.values())

    # -- invariants -----------------------------------------------------------------

    def check(self):
        seen = {}
        for c in self.clients.values():
            for topic_id, partitions in c.owned.items():
                for p in partitions:
                    assert (topic_id, p) not in seen, f"{(topic_id, p)} owned by {seen[(topic_id, p)]} and {c.member_id}"
                    seen[(topic_id, p)] = c.member_id
        for group in self.coordinator.groups.values():
            owners = {}
            for m in group.members.values():
                for tp in m.owned_partitions():
                    assert tp not in owners, f"{tp} owned by members {owners[tp]} and {m.member_id}"
                    owners[tp] = m.member_id
            assert owners == group.partition_owners
        self.check_replay()

    def check_replay(self):
        fresh = ConsumerGroupCoordinator(self.topics)
        for key, value in self.log:
            fresh.replay(key, value)
        live = {g: group.snapshot() for g, group in self.coordinator.groups.items() if _persisted(group)}
        assert {g: group.snapshot() for g, group in fresh.groups.items()} == live

    def describe_owned(self):
        return {name: _norm(c.owned) for name, c in self.clients.items()}

    def counts(self):
        return sorted(sum(len(p) for p in c.owned.values()) for c in self.clients.values())


def _norm(assignment):
    return {t: frozenset(p) for t, p in assignment.items() if p}


def _persisted(group) -> bool:
    return group.group_epoch > 0 or bool(group.members)
