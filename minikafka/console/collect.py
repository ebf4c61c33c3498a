"""The collector: asks the cluster what it looks like, once per poll.

``Collector.poll()`` gathers one ``state.Observation`` from:

- the bundled ``Admin`` client: DescribeCluster (the registered brokers and the
  active controller), Metadata (topics, leaders, replicas, ISR), ListOffsets
  (log-end offsets, one request per leader), ListGroups (every broker: each
  lists only the groups it coordinates), DescribeGroups and OffsetFetch
  (members, assignments, committed offsets);
- an ApiVersions probe of every broker known so far (does it answer?);
- each broker's Prometheus endpoint, when its port is known (the local
  cluster's ``cluster.json`` lists them): the per-topic ``BytesInPerSec`` and
  ``BytesOutPerSec`` counts;
- the local cluster's supervisor (``toolkit.ClusterToolkit``), when there is
  one: which broker processes are alive, paused or dead, and the network faults.

Every source has its own short deadline: a SIGSTOPped broker accepts
connections and never answers, and must not stall the page. A source that
fails or times out keeps its previous answer (a partition whose leader is
gone keeps its last end offset), so one dead broker blanks nothing.

The collector remembers every broker it has ever seen: a broker that is
killed drops out of DescribeCluster once fenced, but the console keeps
showing it, as dead.
"""

from __future__ import annotations

import logging
import time
import urllib.request

import trio

from minikafka.console import state as model

SOURCE_TIMEOUT_S = 2.0
PROBE_TIMEOUT_MS = 1000
SCRAPE_TIMEOUT_S = 1.0
ADMIN_CONFIG = {
    "client.id": "minikafka-console",
    "request.timeout.ms": 1500,
    "default.api.timeout.ms": 2000,
    "socket.connection.setup.timeout.ms": 1000,
    "retry.backoff.ms": 100,
}
LIST_GROUPS = 16

log = logging.getLogger("minikafka.console")


class Collector:
    """Polls one cluster. Owned by one Trio run; ``poll`` is not reentrant.

    Args:
        admin: an entered ``minikafka_clients.Admin``.
        toolkit: the local cluster's ``ClusterToolkit``, or None.
    """

    def __init__(self, admin, toolkit=None):
        self.admin = admin
        self.toolkit = toolkit
        self.brokers: dict[int, model.BrokerFacts] = {}
        self._probe_ports: dict[int, int] = {}  # node id -> the port to probe (cluster: the real listener)
        self.controller_id = -1
        self.topics: dict[str, list[model.PartitionFacts]] = {}
        self.end_offsets: dict[tuple[str, int], int] = {}
        self.groups: dict[str, model.GroupFacts] = {}
        self.counters: dict[tuple[int, str, str], float] = {}
        self.faults: dict = {}
        self.links = False  # the supervisor runs front proxies: cut and heal work

    async def poll(self) -> model.Observation:
        """One observation of the whole cluster (never raises for a broker's failure).

        Every source runs at once; those that need the topics or the brokers
        (end offsets, groups, probes, scrapes) use what the previous poll found,
        so one slow source delays nothing but itself.
        """
        if not self.brokers:  # the first poll: learn which brokers to probe first
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._bounded, self._supervisor)
                nursery.start_soon(self._bounded, self._cluster)
        await self._drop_connections_to_unresponsive()
        async with trio.open_nursery() as nursery:
            for source in (self._supervisor, self._cluster, self._probe, self._topics, self._scrape,
                           self._end_offsets, self._groups):
                nursery.start_soon(self._bounded, source)
        return model.Observation(
            now_ms=int(time.time() * 1000), brokers={n: _copy(b) for n, b in self.brokers.items()},
            controller_id=self.controller_id, topics=dict(self.topics), end_offsets=dict(self.end_offsets),
            groups=list(self.groups.values()), counters=dict(self.counters),
            controls=self.toolkit is not None, links=self.links, faults=self.faults)

    @staticmethod
    async def _bounded(source) -> None:
        """Run one source under its deadline; a failure leaves its last answer in place."""
        with trio.move_on_after(SOURCE_TIMEOUT_S):
            try:
                await source()
            except Exception as exc:  # a dead broker, a moved coordinator: the next poll tries again
                log.debug("%s failed: %r", getattr(source, "__name__", source), exc)

    def _broker(self, node_id: int, host: str, port: int) -> model.BrokerFacts:
        broker = self.brokers.get(node_id)
        if broker is None:
            broker = self.brokers[node_id] = model.BrokerFacts(node_id, host, port)
        return broker

    async def _drop_connections_to_unresponsive(self) -> None:
        """Close the Admin's connection to each broker that is paused or did not answer.

        A timed-out request does not close its connection, and the client sends
        requests for "any broker" on the first open one: a frozen broker would
        swallow every Metadata request of the polls to come.
        """
        for broker in self.brokers.values():
            if broker.answers and broker.process != "paused":
                continue
            with trio.move_on_after(0.05):  # only an already open connection comes back this fast
                try:
                    connection = await self.admin.cluster.connection_to_address(broker.host, broker.port)
                    await connection.aclose()
                except Exception:
                    pass

    # -- the sources -------------------------------------------------------------

    async def _supervisor(self) -> None:
        if self.toolkit is None:
            return
        cluster = await self.toolkit.state()
        if cluster is None:
            return
        for entry in cluster["brokers"]:
            broker = self._broker(entry["node_id"], "127.0.0.1", entry["client_port"])
            broker.process = entry.get("state")
            broker.metrics_port = entry.get("metrics_port")
            # The real listener: a ``cut-client`` fault must not make a broker look dead.
            self._probe_ports[entry["node_id"]] = entry.get("internal_port", entry["client_port"])
        self.faults = cluster.get("faults", {})
        self.links = cluster.get("proxies", True)

    async def _cluster(self) -> None:
        description = await self.admin.describe_cluster()
        self.controller_id = description.controller_id
        registered = {node.node_id for node in description.nodes}
        for node in description.nodes:
            self._broker(node.node_id, node.host, node.port)
        for broker in self.brokers.values():
            broker.registered = broker.node_id in registered

    async def _probe(self) -> None:
        async with trio.open_nursery() as nursery:
            for broker in list(self.brokers.values()):
                nursery.start_soon(self._probe_one, broker)

    async def _probe_one(self, broker: model.BrokerFacts) -> None:
        from minikafka_clients import KafkaConnectionError, connect

        port = self._probe_ports.get(broker.node_id, broker.port)
        answers = False
        with trio.move_on_after(PROBE_TIMEOUT_MS / 1000 * 1.5):
            try:
                async with trio.open_nursery() as nursery:
                    connection = await connect(nursery, broker.host, port, client_id="minikafka-console",
                                               timeout_ms=PROBE_TIMEOUT_MS)
                    await connection.aclose()
                answers = True
            except* (KafkaConnectionError, OSError):
                pass
        broker.answers = answers

    async def _topics(self) -> None:
        found = await self.admin.cluster.refresh_metadata(None)
        self.topics = {
            name: [model.PartitionFacts(p.partition, p.leader_id, list(p.replicas), list(p.isr))
                   for p in topic.partitions.values()]
            for name, topic in found.items() if not topic.is_internal}

    async def _end_offsets(self) -> None:
        from minikafka_clients import admin

        by_leader: dict[int, list[tuple[str, int]]] = {}
        for name, partitions in self.topics.items():
            for p in partitions:
                if p.leader >= 0:
                    by_leader.setdefault(p.leader, []).append((name, p.partition))
        known = {(name, p.partition) for name, partitions in self.topics.items() for p in partitions}
        self.end_offsets = {tp: offset for tp, offset in self.end_offsets.items() if tp in known}

        async def ask(partitions):
            found = await admin.list_offsets(self.admin.cluster, {tp: admin.LATEST for tp in partitions})
            self.end_offsets.update({tp: info.offset for tp, info in found.items() if info.offset >= 0})

        async with trio.open_nursery() as nursery:
            for partitions in by_leader.values():
                nursery.start_soon(self._bounded, lambda ps=partitions: ask(ps))

    async def _groups(self) -> None:
        group_ids = await self._list_group_ids()
        self.groups = {g: self.groups[g] for g in group_ids if g in self.groups}
        async with trio.open_nursery() as nursery:
            for group_id in sorted(group_ids):
                nursery.start_soon(self._bounded, lambda g=group_id: self._describe_group(g))

    async def _list_group_ids(self) -> set[str]:
        """ListGroups of every registered broker, each on its own (a dead one is skipped)."""
        cluster = self.admin.cluster
        found: set[str] = set()

        async def ask(node_id: int) -> None:
            connection = await cluster.connection_to(node_id)
            response = await cluster.request(connection, LIST_GROUPS, {"states_filter": [], "types_filter": []})
            found.update(g.group_id for g in response.groups if g.protocol_type in ("consumer", ""))

        async with trio.open_nursery() as nursery:
            for node_id in [n for n, b in self.brokers.items() if b.registered]:
                nursery.start_soon(self._bounded, lambda n=node_id: ask(n))
        return found

    async def _describe_group(self, group_id: str) -> None:
        described = (await self.admin.describe_consumer_groups([group_id]))[group_id]
        committed = await self.admin.list_consumer_group_offsets(group_id)
        members = [model.MemberFacts(m.member_id, m.client_id, m.client_host, dict(m.assignment))
                   for m in described.members]
        self.groups[group_id] = model.GroupFacts(group_id, described.state, members,
                                                 {tp: o.offset for tp, o in committed.items()})

    async def _scrape(self) -> None:
        async with trio.open_nursery() as nursery:
            for broker in list(self.brokers.values()):
                if broker.metrics_port and broker_state_allows_scrape(broker):
                    nursery.start_soon(self._bounded, lambda b=broker: self._scrape_one(b))

    async def _scrape_one(self, broker: model.BrokerFacts) -> None:
        url = f"http://{broker.host}:{broker.metrics_port}/metrics"
        text = await trio.to_thread.run_sync(_http_get, url, abandon_on_cancel=True)
        for (metric, topic), value in model.parse_topic_counters(text).items():
            self.counters[(broker.node_id, metric, topic)] = value


def broker_state_allows_scrape(broker: model.BrokerFacts) -> bool:
    """Scrape only a broker that is not known to be paused or dead (it would only time out)."""
    return broker.process not in ("paused", "dead")


def _http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
        return response.read().decode("utf-8")


def _copy(broker: model.BrokerFacts) -> model.BrokerFacts:
    return model.BrokerFacts(**vars(broker))
