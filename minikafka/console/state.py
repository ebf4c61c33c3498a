"""The console's model, sans I/O: facts in, the page's JSON and the event feed out.

Theory of operation. Once a second the collector (``console.collect``) asks the
cluster what it looks like and hands the answers to this module as one
``Observation``: plain data, as the Admin client returned it. Nothing here
opens a socket or reads a clock, so every rule can be tested with hand-made
observations.

- ``build_state(observation, rates)`` turns an observation into the JSON of
  ``GET /api/state``: brokers (``alive``, ``dead``, ``paused`` or ``fenced``),
  topics with their partitions, consumer groups with their lag.
- ``diff(old, new)`` compares two successive states and names what happened
  in between, as Kafka's own logs and metrics would: a broker went down or
  came back, the active controller moved, a partition elected a new leader
  (``LeaderElectionRateAndTimeMs``), an ISR shrank or expanded
  (``IsrShrinksPerSec``/``IsrExpandsPerSec``), a group rebalanced.
- ``RateTracker`` turns monotonically increasing counters (log-end offsets,
  the brokers' ``BytesInPerSec`` counts) into per-second rates over a short
  window, as Prometheus' ``rate()`` does: a counter that goes down was reset
  (a restarted broker counts from zero again), so the new value is all increase.
- ``History`` keeps the last minutes of per-topic throughput and per-partition
  lag for the charts (``GET /api/history``).

A broker's state follows from three facts:

- *answers*: it answered ApiVersions just now (a killed or SIGSTOPped broker does not);
- *registered*: the controller lists it in DescribeCluster, which (as
  Kafka's Metadata) names only unfenced brokers;
- *process*: what the local cluster's supervisor says of its process
  (``alive``, ``paused``, ``dead``), when the console runs next to one.

``paused`` and ``dead`` come from the process when known; otherwise a broker
that does not answer is ``dead``. A broker that answers but is not registered
is ``fenced`` (starting up, or its session with the controller expired).

Lag is Kafka's: ``lag = log-end offset - committed offset`` per partition
(``kafka-consumer-groups.sh --describe``); without a committed offset the
lag is unknown (``null``).
"""

from __future__ import annotations

import collections
import dataclasses
import re

TopicPartition = tuple[str, int]

RATE_WINDOW_MS = 5_000  # rates average over the last 5 s of samples
HISTORY_WINDOW_MS = 5 * 60_000  # the charts show the last 5 minutes


@dataclasses.dataclass
class BrokerFacts:
    """What the collector knows of one broker."""

    node_id: int
    host: str
    port: int
    answers: bool = False
    registered: bool = False
    process: str | None = None  # the supervisor's word: alive | paused | dead; None: no supervisor
    metrics_port: int | None = None


@dataclasses.dataclass
class PartitionFacts:
    """One partition as Metadata describes it."""

    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclasses.dataclass
class MemberFacts:
    """One member of a group, as DescribeGroups describes it."""

    member_id: str
    client_id: str
    host: str
    assignment: dict[str, list[int]]


@dataclasses.dataclass
class GroupFacts:
    """One consumer group: its state, members and committed offsets."""

    group_id: str
    state: str
    members: list[MemberFacts] = dataclasses.field(default_factory=list)
    committed: dict[TopicPartition, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Observation:
    """Everything one poll learned (what the Admin client and the scrapes returned).

    Attributes:
        now_ms: when (ms since the epoch).
        brokers: every broker known so far, by id.
        controller_id: the active controller (-1: none).
        topics: ``{topic: [PartitionFacts]}`` (internal topics left out).
        end_offsets: the log-end offset of each partition that answered.
        groups: the consumer groups.
        counters: ``{(broker_id, metric, topic): value}`` scraped from the
            brokers' Prometheus endpoints (``bytes_in``, ``bytes_out``).
        controls: whether the failure toolkit (a local supervisor) is at hand.
        links: whether its network faults (cut, heal) are: the cluster runs with
            its front proxies (not ``--no-proxies``).
        faults: the supervisor's current network faults, as its state says.
    """

    now_ms: int
    brokers: dict[int, BrokerFacts]
    controller_id: int = -1
    topics: dict[str, list[PartitionFacts]] = dataclasses.field(default_factory=dict)
    end_offsets: dict[TopicPartition, int] = dataclasses.field(default_factory=dict)
    groups: list[GroupFacts] = dataclasses.field(default_factory=list)
    counters: dict[tuple[int, str, str], float] = dataclasses.field(default_factory=dict)
    controls: bool = False
    links: bool = False
    faults: dict = dataclasses.field(default_factory=dict)


# -- brokers -------------------------------------------------------------------------

def broker_state(broker: BrokerFacts) -> str:
    """``alive``, ``dead``, ``paused`` or ``fenced`` (see the module docstring)."""
    if broker.process in ("dead", "paused"):
        return broker.process
    if not broker.answers:
        return "dead"
    return "alive" if broker.registered else "fenced"


def _broker_json(broker: BrokerFacts, controller_id: int) -> dict:
    state = broker_state(broker)
    metrics_url = f"http://{broker.host}:{broker.metrics_port}/metrics" if broker.metrics_port else None
    return {"id": broker.node_id, "host": broker.host, "port": broker.port, "state": state,
            "alive": state == "alive", "controller": broker.node_id == controller_id,
            "fenced": state == "fenced", "metrics_url": metrics_url}


# -- rates ---------------------------------------------------------------------------

class RateTracker:
    """Per-second rates of counters over the last ``window_ms`` (Prometheus' ``rate()``).

    ``observe(key, now_ms, value)`` records a sample of a counter; ``rate(key)``
    is its increase over the window divided by the time the window covers.
    A value lower than the previous one means the counter was reset.
    """

    def __init__(self, window_ms: int = RATE_WINDOW_MS):
        self.window_ms = window_ms
        self._last: dict = {}  # key -> last raw value
        self._samples: dict = collections.defaultdict(collections.deque)  # key -> (t, total increase)

    def observe(self, key, now_ms: int, value: float) -> None:
        previous = self._last.get(key)
        samples = self._samples[key]
        total = samples[-1][1] if samples else 0.0
        if previous is not None:
            total += value - previous if value >= previous else value
        self._last[key] = value
        samples.append((now_ms, total))
        while len(samples) > 2 and samples[1][0] <= now_ms - self.window_ms:
            samples.popleft()

    def rate(self, key) -> float | None:
        """Increase per second over the window; None before two samples."""
        samples = self._samples.get(key)
        if not samples or len(samples) < 2:
            return None
        (t0, v0), (t1, v1) = samples[0], samples[-1]
        return (v1 - v0) * 1000.0 / (t1 - t0) if t1 > t0 else None

    def keys(self) -> list:
        """Every counter seen so far."""
        return list(self._samples)


def observe_rates(tracker: RateTracker, observation: Observation) -> None:
    """Feed the observation's counters: end offsets per partition, scraped counters per broker."""
    for (topic, partition), offset in observation.end_offsets.items():
        tracker.observe(("messages_in", topic, partition), observation.now_ms, offset)
    for (broker_id, metric, topic), value in observation.counters.items():
        tracker.observe((metric, topic, broker_id), observation.now_ms, value)


def topic_rate(tracker: RateTracker, metric: str, topic: str, keys) -> float | None:
    """The sum of the rates of every series of ``metric`` for ``topic`` (None if none)."""
    rates = [tracker.rate(key) for key in keys if key[0] == metric and key[1] == topic]
    rates = [r for r in rates if r is not None]
    return sum(rates) if rates else None


# -- the state JSON ------------------------------------------------------------------

def build_state(observation: Observation, tracker: RateTracker | None = None) -> dict:
    """The JSON of ``GET /api/state`` (the shape is in the console's docs)."""
    tracker = tracker or RateTracker()
    keys = tracker.keys()
    brokers = [_broker_json(b, observation.controller_id)
               for _, b in sorted(observation.brokers.items())]
    topics = []
    for name in sorted(observation.topics):
        partitions = [_partition_json(p) for p in sorted(observation.topics[name], key=lambda p: p.partition)]
        topics.append({"name": name, "partitions": partitions,
                       "bytes_in_rate": topic_rate(tracker, "bytes_in", name, keys),
                       "bytes_out_rate": topic_rate(tracker, "bytes_out", name, keys),
                       "messages_in_rate": topic_rate(tracker, "messages_in", name, keys)})
    groups = [_group_json(g, observation.end_offsets) for g in sorted(observation.groups, key=lambda g: g.group_id)]
    return {"time_ms": observation.now_ms, "controller_id": observation.controller_id,
            "brokers": brokers, "topics": topics, "groups": groups,
            "controls": observation.controls, "links": observation.controls and observation.links,
            "faults": observation.faults}


def _partition_json(p: PartitionFacts) -> dict:
    offline = p.leader < 0
    return {"partition": p.partition, "leader": p.leader, "replicas": list(p.replicas), "isr": list(p.isr),
            "under_replicated": not offline and len(p.isr) < len(p.replicas), "offline": offline}


def _group_json(group: GroupFacts, end_offsets: dict[TopicPartition, int]) -> dict:
    owners = {}
    for member in group.members:
        for topic, partitions in member.assignment.items():
            for partition in partitions:
                owners[(topic, partition)] = member.member_id
    lag = []
    for topic, partition in sorted(set(owners) | set(group.committed)):
        committed = group.committed.get((topic, partition))
        end = end_offsets.get((topic, partition))
        behind = max(end - committed, 0) if committed is not None and end is not None else None
        lag.append({"topic": topic, "partition": partition, "committed": committed, "end": end,
                    "lag": behind, "member_id": owners.get((topic, partition))})
    members = [{"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                "assignment": {t: sorted(ps) for t, ps in sorted(m.assignment.items())}}
               for m in sorted(group.members, key=lambda m: m.member_id)]
    return {"group_id": group.group_id, "state": group.state, "members": members, "lag": lag}


# -- events: what changed between two states -------------------------------------------

def diff(old: dict | None, new: dict) -> list[dict]:
    """The events between two states, oldest first; ``old`` None (the first state) gives none.

    Each event is ``{"time_ms", "type", "message", ...}`` with ``type`` one of
    ``broker_up``, ``broker_down``, ``broker_paused``, ``broker_fenced``,
    ``controller_change``, ``leader_election``, ``partition_offline``,
    ``isr_shrink``, ``isr_expand``, ``topic_created``, ``topic_deleted``,
    ``rebalance``, ``group_state``.
    """
    if old is None:
        return []
    events = _broker_events(old, new) + _partition_events(old, new) + _group_events(old, new)
    for event in events:
        event["time_ms"] = new["time_ms"]
    return events


def _event(kind: str, message: str, **fields) -> dict:
    return {"type": kind, "message": message, **fields}


def _broker_events(old: dict, new: dict) -> list[dict]:
    events = []
    before = {b["id"]: b["state"] for b in old["brokers"]}
    for broker in new["brokers"]:
        was, now = before.get(broker["id"]), broker["state"]
        if was is None or was == now:
            continue
        kind = {"alive": "broker_up", "dead": "broker_down", "paused": "broker_paused",
                "fenced": "broker_fenced"}[now]
        events.append(_event(kind, f"broker {broker['id']}: {was} -> {now}", broker=broker["id"]))
    if old["controller_id"] != new["controller_id"] and new["controller_id"] >= 0:
        events.append(_event("controller_change",
                             f"active controller: {_node(old['controller_id'])} -> {new['controller_id']}",
                             broker=new["controller_id"]))
    return events


def _node(node_id: int) -> str:
    return str(node_id) if node_id >= 0 else "none"


def _partitions(state: dict) -> dict[TopicPartition, dict]:
    return {(t["name"], p["partition"]): p for t in state["topics"] for p in t["partitions"]}


def _partition_events(old: dict, new: dict) -> list[dict]:
    events = []
    old_topics = {t["name"] for t in old["topics"]}
    new_topics = {t["name"] for t in new["topics"]}
    for name in sorted(new_topics - old_topics):
        events.append(_event("topic_created", f"topic {name} created", topic=name))
    for name in sorted(old_topics - new_topics):
        events.append(_event("topic_deleted", f"topic {name} deleted", topic=name))
    before = _partitions(old)
    for (topic, partition), p in sorted(_partitions(new).items()):
        was = before.get((topic, partition))
        if was is None:
            continue
        where = {"topic": topic, "partition": partition}
        name = f"{topic}-{partition}"
        if was["leader"] != p["leader"]:
            if p["leader"] < 0:
                events.append(_event("partition_offline", f"{name}: offline (leader {was['leader']} lost, "
                                                          f"no replica in the ISR to elect)", **where))
            else:
                events.append(_event("leader_election", f"{name}: leader {_node(was['leader'])} -> {p['leader']}",
                                     **where))
        shrunk, grown = set(was["isr"]) - set(p["isr"]), set(p["isr"]) - set(was["isr"])
        if shrunk:
            events.append(_event("isr_shrink", f"{name}: ISR shrank {_ids(was['isr'])} -> {_ids(p['isr'])}",
                                 **where))
        if grown:
            events.append(_event("isr_expand", f"{name}: ISR expanded {_ids(was['isr'])} -> {_ids(p['isr'])}",
                                 **where))
    return events


def _ids(ids) -> str:
    return "[" + ",".join(str(i) for i in ids) + "]"


def _assignment(group: dict) -> dict[str, dict]:
    return {m["member_id"]: m["assignment"] for m in group["members"]}


def _group_events(old: dict, new: dict) -> list[dict]:
    events = []
    before = {g["group_id"]: g for g in old["groups"]}
    for group in new["groups"]:
        group_id = group["group_id"]
        was = before.get(group_id)
        if was is None:
            continue
        if was["state"] != group["state"]:
            events.append(_event("group_state", f"group {group_id}: {was['state']} -> {group['state']}",
                                 group=group_id))
        if _assignment(was) != _assignment(group):
            joined = len(set(_assignment(group)) - set(_assignment(was)))
            left = len(set(_assignment(was)) - set(_assignment(group)))
            events.append(_event("rebalance", f"group {group_id} rebalanced: {len(group['members'])} member(s) "
                                              f"({joined} joined, {left} left)", group=group_id))
    return events


# -- history for the charts ------------------------------------------------------------

class History:
    """The last ``window_ms`` of per-topic throughput and per-partition lag.

    ``record(state)`` appends one point per topic and per group partition;
    ``to_json()`` is ``GET /api/history``.
    """

    def __init__(self, window_ms: int = HISTORY_WINDOW_MS):
        self.window_ms = window_ms
        self.throughput: dict[str, collections.deque] = {}
        self.lag: dict[tuple[str, str, int], collections.deque] = {}

    def record(self, state: dict) -> None:
        now = state["time_ms"]
        for topic in state["topics"]:
            point = {"t": now, "bytes_in_rate": topic["bytes_in_rate"], "bytes_out_rate": topic["bytes_out_rate"],
                     "messages_in_rate": topic["messages_in_rate"]}
            self.throughput.setdefault(topic["name"], collections.deque()).append(point)
        for group in state["groups"]:
            for row in group["lag"]:
                key = (group["group_id"], row["topic"], row["partition"])
                self.lag.setdefault(key, collections.deque()).append({"t": now, "lag": row["lag"]})
        for series in (self.throughput, self.lag):
            for key in list(series):
                points = series[key]
                while points and points[0]["t"] < now - self.window_ms:
                    points.popleft()
                if not points:
                    del series[key]

    def to_json(self) -> dict:
        return {
            "window_ms": self.window_ms,
            "throughput": [{"topic": name, "points": list(points)}
                           for name, points in sorted(self.throughput.items())],
            "lag": [{"group_id": g, "topic": t, "partition": p, "points": list(points)}
                    for (g, t, p), points in sorted(self.lag.items())],
        }


class EventLog:
    """The live feed: events numbered from 1, the newest ``capacity`` kept.

    ``GET /api/events?after=N`` gives the events numbered above N.
    """

    def __init__(self, capacity: int = 500):
        self.events: collections.deque = collections.deque(maxlen=capacity)
        self.last_seq = 0

    def extend(self, events: list[dict]) -> None:
        for event in events:
            self.last_seq += 1
            self.events.append({"seq": self.last_seq, **event})

    def after(self, seq: int) -> list[dict]:
        return [e for e in self.events if e["seq"] > seq]


# -- the brokers' Prometheus endpoints ---------------------------------------------------

# The per-topic counters the console reads (the Prometheus names of Kafka's
# ``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec|BytesOutPerSec,topic=T``).
SCRAPED_COUNTERS = {
    "kafka_server_brokertopicmetrics_bytesin_total": "bytes_in",
    "kafka_server_brokertopicmetrics_bytesout_total": "bytes_out",
}
_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)')
_TOPIC_LABEL = re.compile(r'(?:^|,)\s*topic="(?P<topic>(?:[^"\\]|\\.)*)"')


def parse_topic_counters(text: str) -> dict[tuple[str, str], float]:
    """``{(metric, topic): value}`` from a Prometheus text exposition (one broker's scrape).

    Only the samples of ``SCRAPED_COUNTERS`` that carry a ``topic`` label count
    (the all-topics sample has none).
    """
    counters = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] not in SCRAPED_COUNTERS:
            continue
        topic = _TOPIC_LABEL.search(match["labels"])
        if topic:
            counters[(SCRAPED_COUNTERS[match["name"]], topic["topic"])] = float(match["value"])
    return counters
