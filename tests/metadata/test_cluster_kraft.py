"""A three-broker KRaft cluster in one trio.run: election, registration, fencing,
topics visible everywhere, forwarding to the active controller, failover, restart.

Quorum and controller traffic use the in-memory seams of ``open_cluster``;
clients use each broker's real loopback port. Lab-speed timeouts
(``LAB_CLUSTER_OVERRIDES``) and Trio's autojump clock keep it fast.
"""

from __future__ import annotations

import trio

from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.handlers import RequestContext, metadata as metadata_handler
from minikafka.protocol import messages
from minikafka.testing import open_cluster

METADATA = 3


async def describe(broker, version: int = 12) -> dict:
    """Metadata for every topic, as a client sees it (through the real codec)."""
    message = messages.REQUESTS[METADATA]
    request = message.decode(message.encode({"topics": None, "allow_auto_topic_creation": False}, version),
                             version)
    ctx = RequestContext(METADATA, version, 1, "test", "in-memory", None)
    response = await metadata_handler.handle(broker.services, request, ctx)
    return messages.RESPONSES[METADATA].decode(messages.RESPONSES[METADATA].encode(response, version), version)


def same_images(cluster) -> bool:
    images = [b.metadata.image for b in cluster.brokers.values()]
    return all(image == images[0] for image in images)


async def test_one_active_controller_and_every_broker_registered(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        active = [b.node_id for b in cluster.brokers.values() if b.metadata.is_active]
        assert len(active) == 1
        await cluster.wait_for(lambda: same_images(cluster))
        image = cluster.brokers[1].metadata.image
        assert sorted(image.brokers) == [1, 2, 3]
        assert image.active_broker_ids() == [1, 2, 3]
        assert image.features["metadata.version"] > 0
        for broker in cluster.brokers.values():
            assert broker.metadata.active_controller_id == active[0]
        answers = [await describe(b) for b in cluster.brokers.values()]
        assert {a.controller_id for a in answers} == {active[0]}
        assert all([(x.node_id, x.port) for x in a.brokers] == [(n, cluster.brokers[n].bound_ports[0])
                                                              for n in (1, 2, 3)] for a in answers)
        assert len({a.cluster_id for a in answers}) == 1


async def test_topic_with_rf3_created_through_any_broker(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        follower = next(b for b in cluster.brokers.values() if not b.metadata.is_active)
        info = await follower.create_topic("orders", 3, {}, 3)  # forwarded to the active controller
        assert info.replication_factor == 3
        await cluster.wait_for(lambda: same_images(cluster))
        answers = [await describe(b) for b in cluster.brokers.values()]
        topics = [a.topics[0] for a in answers]
        assert all(t.name == "orders" and t.topic_id == info.topic_id for t in topics)
        partitions = topics[0].partitions
        assert [sorted(p.replica_nodes) for p in partitions] == [[1, 2, 3]] * 3
        assert sorted(p.leader_id for p in partitions) == [1, 2, 3]  # leaders spread by the placer
        assert all(list(p.isr_nodes) == list(p.replica_nodes) for p in partitions)
        assert all(repr(t.partitions) == repr(partitions) for t in topics)
        for broker in cluster.brokers.values():  # every replica has its log
            assert {("orders", i) for i in range(3)} <= set(broker.partitions)


async def test_offsets_topic_gets_rf3(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3, offsets_topic_num_partitions=3) as cluster:
        await cluster.brokers[2].group_coordinator.ensure_offsets_topic()
        await cluster.wait_for(lambda: same_images(cluster))
        topic = cluster.brokers[1].metadata.image.topic(OFFSETS_TOPIC)
        assert topic is not None
        assert all(len(p.replicas) == 3 for p in topic.partitions.values())


async def test_a_silent_broker_is_fenced_and_loses_its_leaderships(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await cluster.brokers[1].create_topic("t", 3, {}, 3)
        victim = next(b.node_id for b in cluster.brokers.values() if not b.metadata.is_active)
        start = trio.current_time()
        await cluster.stop(victim)  # a crash: no controlled shutdown
        survivor = next(iter(cluster.brokers.values()))

        def fenced():
            return survivor.metadata.image.brokers[victim].fenced

        await cluster.wait_for(fenced)
        assert trio.current_time() - start >= 1.5 - 0.3  # broker.session.timeout.ms (lab: 1500)
        await cluster.wait_for(lambda: same_images(cluster))
        for _, _, p in survivor.metadata.image.all_partitions():
            assert p.leader != victim and victim not in p.isr
        answer = await describe(survivor)
        assert victim not in [b.node_id for b in answer.brokers]
        assert all(victim in p.offline_replicas for p in answer.topics[0].partitions)


async def test_controller_failover_and_topic_creation(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        old = cluster.active_controller().node_id
        await cluster.stop(old)
        await cluster.wait_for(lambda: cluster.active_controller() is not None)
        assert cluster.active_controller().node_id != old
        other = next(iter(cluster.brokers.values()))
        info = await other.create_topic("after-failover", 1, {}, 2)
        assert info.replication_factor == 2
        await cluster.start(old)  # rejoins, catches up, is unfenced
        await cluster.wait_for(lambda: same_images(cluster))
        assert cluster.brokers[old].topics.get("after-failover") == info


async def test_whole_cluster_restart_keeps_topics(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        created = await cluster.brokers[3].create_topic("kept", 2, {"retention.ms": "60000"}, 3)
        cluster_id = cluster.cluster_id
        for node_id in (1, 2, 3):
            await cluster.stop(node_id, controlled=True)
        cluster.quorum_network = type(cluster.quorum_network)()  # fresh links, as after a reboot
        await cluster.start_all()
        assert cluster.cluster_id == cluster_id
        for broker in cluster.brokers.values():
            assert broker.topics.get("kept") == created
            assert broker.topics.effective_config("kept")["retention.ms"] == 60000


async def test_only_the_leader_takes_produce_and_fetch(tmp_path, autojump_clock):
    from minikafka.errors import ErrorCode, KafkaError

    async with open_cluster(tmp_path, brokers=3) as cluster:
        await cluster.brokers[1].create_topic("t", 1, {}, 3)
        await cluster.wait_for(lambda: same_images(cluster))
        leader = cluster.brokers[1].metadata.image.topic("t").partitions[0].leader
        assert cluster.brokers[leader].leader_partition("t", 0) is cluster.brokers[leader].partition("t", 0)
        for node_id, broker in cluster.brokers.items():
            if node_id != leader:
                try:
                    broker.leader_partition("t", 0)
                except KafkaError as exc:
                    assert exc.code == ErrorCode.NOT_LEADER_OR_FOLLOWER
                else:
                    raise AssertionError(f"broker {node_id} accepted a leader-only request")
