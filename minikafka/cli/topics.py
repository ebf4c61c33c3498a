"""``minikafka topics``: create, list, describe, alter and delete topics.

The options are ``kafka-topics.sh``'s, and ``describe`` prints what it prints::

    Topic: orders	TopicId: 3QbKpQ2xTM2a1XcYJm5u0g	PartitionCount: 3	ReplicationFactor: 1	Configs: retention.ms=3600000
    	Topic: orders	Partition: 0	Leader: 1	Replicas: 1	Isr: 1

``alter`` combines ``kafka-topics.sh --alter --partitions N`` (grow a topic;
Kafka never shrinks one) with ``kafka-configs.sh --alter --add-config k=v
--delete-config k`` (topic config overrides, via IncrementalAlterConfigs);
``minikafka configs`` does the latter with kafka-configs.sh's own options and
output, for brokers and client quotas too.

``describe`` takes kafka-topics.sh's partition filters. With any of them it
prints no topic lines, only the partition lines that match at least one
filter given (of every topic, or of ``--topic``):

- ``--under-replicated-partitions``: the ISR is smaller than the replica set;
- ``--unavailable-partitions``: no leader, or a leader that is not among the
  live brokers DescribeCluster lists;
- ``--under-min-isr-partitions``: no leader, or an ISR smaller than the topic's
  effective ``min.insync.replicas`` (so acks=all produces fail with
  NOT_ENOUGH_REPLICAS);
- ``--at-min-isr-partitions``: an ISR exactly ``min.insync.replicas`` large
  (one more lost replica and acks=all produces fail).

Topic ids print as Kafka prints a ``Uuid``: URL-safe base64 without padding.
The work is done by the bundled ``SyncAdmin`` (``minikafka_clients``), as
``kafka-topics.sh`` does it with Java's ``Admin``.
"""

from __future__ import annotations

import argparse
import base64

from minikafka.config import parse_override

ACTIONS = ["create", "list", "describe", "alter", "delete"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--topic", metavar="NAME",
                        help="the topic (for describe: omit to describe every topic)")
    parser.add_argument("--partitions", type=int, metavar="N",
                        help="create: the partition count (default: the broker's "
                        "num.partitions); alter: the new, larger, total")
    parser.add_argument("--replication-factor", type=int, metavar="N",
                        help="create: copies of each partition (default: the broker's "
                        "default.replication.factor)")
    parser.add_argument("--config", metavar="KEY=VALUE", type=parse_override, action="append",
                        default=[], help="create: a topic config override; repeatable")
    parser.add_argument("--add-config", metavar="KEY=VALUE", type=parse_override,
                        action="append", default=[],
                        help="alter: set a topic config override; repeatable")
    parser.add_argument("--delete-config", metavar="KEY", action="append", default=[],
                        help="alter: remove a topic config override; repeatable")
    parser.add_argument("--exclude-internal", action="store_true",
                        help="list/describe: leave out internal topics")
    parser.add_argument("--under-replicated-partitions", action="store_true",
                        help="describe: only partitions whose ISR is smaller than their replicas")
    parser.add_argument("--unavailable-partitions", action="store_true",
                        help="describe: only partitions whose leader is none or not a live broker")
    parser.add_argument("--under-min-isr-partitions", action="store_true",
                        help="describe: only partitions whose ISR is smaller than "
                        "min.insync.replicas")
    parser.add_argument("--at-min-isr-partitions", action="store_true",
                        help="describe: only partitions whose ISR is exactly min.insync.replicas")
    parser.add_argument("--if-not-exists", action="store_true",
                        help="create: succeed if the topic already exists")
    parser.add_argument("--if-exists", action="store_true",
                        help="alter/delete: succeed if the topic does not exist")


def run(args: argparse.Namespace) -> int:
    from minikafka_clients import SyncAdmin

    if args.action not in ("list", "describe") and not args.topic:
        raise ValueError(f"topics {args.action} needs --topic")
    config = {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-topics"}
    with SyncAdmin(config) as admin:
        return _ACTIONS[args.action](admin, args)


def _create(admin, args) -> int:
    from minikafka.errors import ErrorCode, KafkaError
    from minikafka_clients import NewTopic

    topic = NewTopic(args.topic, _or_default(args.partitions),
                     _or_default(args.replication_factor), dict(args.config))
    try:
        admin.create_topics([topic])
    except KafkaError as exc:
        if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS and args.if_not_exists:
            return 0
        raise
    print(f"Created topic {args.topic}.")
    return 0


def _or_default(value: int | None) -> int:
    return -1 if value is None else value  # -1: the broker's default (KIP-464)


def _list(admin, args) -> int:
    for name in admin.list_topics(list_internal=not args.exclude_internal):
        print(name)
    return 0


def _describe(admin, args) -> int:
    names = [args.topic] if args.topic else sorted(admin.list_topics(
        list_internal=not args.exclude_internal))
    filters = _partition_filters(args)
    live_brokers = {node.node_id for node in admin.describe_cluster().nodes} if filters else set()
    for topic in admin.describe_topics(names).values():
        configs = admin.describe_configs(topic.name)
        partitions = sorted(topic.partitions.values(), key=lambda p: p.partition)
        if not filters:
            print(describe_topic_line(topic, _overrides(configs)))
        min_isr = _min_insync_replicas(configs) if filters else 0
        for partition in partitions:
            if not filters or any(is_reported(partition, min_isr, live_brokers)
                                  for is_reported in filters):
                print(describe_partition_line(topic.name, partition))
    return 0


def _min_insync_replicas(configs) -> int:
    """The topic's effective ``min.insync.replicas`` (Kafka's default, 1, if not reported)."""
    entry = configs.get("min.insync.replicas")
    return int(entry.value) if entry is not None and entry.value is not None else 1


def _partition_filters(args) -> list:
    """The partition tests the describe flags ask for; empty: print everything."""
    chosen = [(args.under_replicated_partitions, is_under_replicated),
              (args.unavailable_partitions, is_unavailable),
              (args.under_min_isr_partitions, is_under_min_isr),
              (args.at_min_isr_partitions, is_at_min_isr)]
    return [test for wanted, test in chosen if wanted]


def _has_leader(partition) -> bool:
    return partition.leader_id >= 0


def is_under_replicated(partition, min_isr: int, live_brokers: set[int]) -> bool:
    """Some replica is out of the ISR (``--under-replicated-partitions``)."""
    return len(partition.isr) < len(partition.replicas)


def is_unavailable(partition, min_isr: int, live_brokers: set[int]) -> bool:
    """No leader, or one that is not a live broker (``--unavailable-partitions``)."""
    return not _has_leader(partition) or partition.leader_id not in live_brokers


def is_under_min_isr(partition, min_isr: int, live_brokers: set[int]) -> bool:
    """No leader, or fewer in-sync replicas than ``min.insync.replicas``."""
    return not _has_leader(partition) or len(partition.isr) < min_isr


def is_at_min_isr(partition, min_isr: int, live_brokers: set[int]) -> bool:
    """Exactly ``min.insync.replicas`` in-sync replicas (``--at-min-isr-partitions``)."""
    return len(partition.isr) == min_isr


def _overrides(configs) -> dict[str, str]:
    """The topic-level overrides, as kafka-topics.sh shows them (not the defaults)."""
    from minikafka.cli.configs import TOPICS, dynamic_entries

    return {entry.name: ("<sensitive>" if entry.is_sensitive else entry.value)
            for entry in dynamic_entries(configs, TOPICS, "")}


def describe_topic_line(topic, overrides: dict[str, str]) -> str:
    """``Topic: t	TopicId: ...	PartitionCount: 3	ReplicationFactor: 1	Configs: ...``"""
    replication_factor = max((len(p.replicas) for p in topic.partitions.values()), default=0)
    configs = ",".join(f"{k}={v}" for k, v in overrides.items())
    return (f"Topic: {topic.name}\tTopicId: {format_topic_id(topic.topic_id)}\t"
            f"PartitionCount: {len(topic.partitions)}\tReplicationFactor: {replication_factor}\t"
            f"Configs: {configs}")


def describe_partition_line(topic_name: str, partition) -> str:
    """``	Topic: t	Partition: 0	Leader: 1	Replicas: 1	Isr: 1``"""
    leader = partition.leader_id if partition.leader_id >= 0 else "none"
    return (f"\tTopic: {topic_name}\tPartition: {partition.partition}\tLeader: {leader}\t"
            f"Replicas: {_ids(partition.replicas)}\tIsr: {_ids(partition.isr)}")


def _ids(node_ids) -> str:
    return ",".join(str(node_id) for node_id in node_ids)


def format_topic_id(raw: bytes) -> str:
    """Kafka's ``Uuid.toString()``: URL-safe base64 of the 16 bytes, no padding."""
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def _alter(admin, args) -> int:
    from minikafka.errors import ErrorCode, KafkaError

    if args.partitions is None and not args.add_config and not args.delete_config:
        raise ValueError("topics alter needs --partitions, --add-config or --delete-config")
    try:
        if args.partitions is not None:
            admin.create_partitions({args.topic: args.partitions})
        if args.add_config or args.delete_config:
            admin.incremental_alter_configs(args.topic, set_configs=dict(args.add_config),
                                            delete_configs=list(args.delete_config))
    except KafkaError as exc:
        if exc.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and args.if_exists:
            return 0
        raise
    print(f"Altered topic {args.topic}.")
    return 0


def _delete(admin, args) -> int:
    from minikafka.errors import ErrorCode, KafkaError

    try:
        admin.delete_topics([args.topic])
    except KafkaError as exc:
        if exc.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and args.if_exists:
            return 0
        raise
    print(f"Deleted topic {args.topic}.")
    return 0


_ACTIONS = {"create": _create, "list": _list, "describe": _describe, "alter": _alter,
            "delete": _delete}
