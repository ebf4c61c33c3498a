"""Replica placement for new partitions: rack-unaware round robin.

A simplified version of Kafka's ``StripedReplicaPlacer`` (and of the older
``AdminUtils.assignReplicasToBrokers`` without racks): the active brokers are
sorted into a ring; partition ``p`` starts at ring position ``start + p`` and
takes the next ``replication_factor`` brokers. So:

- the replicas of a partition are distinct brokers;
- the first replica (the preferred leader) moves one step per partition, so
  leaderships spread evenly;
- ``start`` rotates from one placement to the next (Kafka picks it at
  random), so many small topics do not all put their leaders on the first
  broker.

Fenced brokers and brokers in controlled shutdown get no new replicas.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError


class ReplicaPlacer:
    """Places replicas; remembers only where the next placement starts.

    Args:
        start: the first ring position used (tests pass 0; the controller
            passes a random number, as Kafka does).
    """

    def __init__(self, start: int = 0):
        self._next_start = start

    def place(self, active_broker_ids: list[int], num_partitions: int,
              replication_factor: int) -> list[list[int]]:
        """One replica list per new partition.

        Raises:
            KafkaError: INVALID_REPLICATION_FACTOR when there are fewer active
                brokers than the replication factor (Kafka's message).
        """
        brokers = sorted(active_broker_ids)
        check_replication_factor(replication_factor, len(brokers))
        start = self._next_start
        self._next_start += 1
        ring = len(brokers)
        return [[brokers[(start + p + j) % ring] for j in range(replication_factor)]
                for p in range(num_partitions)]


def check_replication_factor(replication_factor: int, num_brokers: int) -> None:
    """Raise INVALID_REPLICATION_FACTOR as Kafka's placer does."""
    if replication_factor <= 0:
        raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR,
                         "Replication factor must be larger than 0, or -1 to use the default value.")
    if replication_factor > num_brokers:
        raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR,
                         f"Unable to replicate the partition {replication_factor} time(s): The target "
                         f"replication factor of {replication_factor} cannot be reached because only "
                         f"{num_brokers} broker(s) are registered.")
