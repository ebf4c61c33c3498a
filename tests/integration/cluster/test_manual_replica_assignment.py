"""CreateTopics with replicas placed by hand on a three-broker cluster.

Kafka lets the creator name each partition's replicas (``replicasAssignments``,
with the partition and replica counts left at -1); the first broker of each
list is the preferred leader. The controller checks that every broker named
is registered.
"""

from __future__ import annotations

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.testing import bootstrap_servers, open_cluster
from minikafka_clients import Admin, NewTopic


async def test_replicas_go_where_the_creator_puts_them(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        bootstrap = bootstrap_servers(*cluster.brokers.values())
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            placed = {0: [2, 3], 1: [3, 1], 2: [1, 2]}
            await admin.create_topics([NewTopic("placed", replicas_assignments=placed)])
            described = (await admin.describe_topics(["placed"]))["placed"]
            assert {p.partition: list(p.replicas) for p in described.partitions.values()} == placed

            with pytest.raises(KafkaError) as refused:
                await admin.create_topics([NewTopic("nowhere", replicas_assignments={0: [1, 9]})])
            assert refused.value.code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
            assert "broker 9" in str(refused.value)

            with pytest.raises(KafkaError) as uneven:
                await admin.create_topics([NewTopic("uneven", replicas_assignments={0: [1, 2], 1: [3]})])
            assert uneven.value.code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
