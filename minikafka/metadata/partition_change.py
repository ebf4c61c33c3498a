"""Deciding one partition's next state: ISR, leader, reassignment (sans-I/O).

Kafka's ``PartitionChangeBuilder``: the controller states what it wants
(a new ISR, new replicas, a kind of election) and :meth:`PartitionChangeBuilder.build`
works out the rest and returns the ``PartitionChangeRecord`` (or None when
nothing changes). All the rules about who may lead live here:

1. **Finish a reassignment** when every target replica is in the ISR: the
   removing replicas leave ``replicas`` and the ISR, ``adding`` and
   ``removing`` are cleared (never if that would leave an empty ISR).
2. **Elect a leader** from *acceptable* replicas: in the target ISR and
   active (unfenced, not in controlled shutdown), searched in assignment
   order, so the preferred (first) replica wins whenever it can.

   - ``ONLINE``: keep the current leader if it is still acceptable;
   - ``PREFERRED``: move to the preferred replica if it is acceptable;
   - no acceptable replica and unclean election allowed: the first *active*
     replica leads and becomes the whole ISR (it may lack acknowledged
     records: that is what "unclean" means);
   - otherwise the partition is offline (``leader = -1``).
3. **Never empty the ISR.** If the new ISR would be empty the partition
   keeps its last ISR (typically the one broker that was just fenced) and
   has no leader, so that broker can lead again cleanly when it returns.
   This is Kafka's behaviour before ELR (KIP-966), which minikafka omits.
4. **Epochs.** A new leader, or replicas removed by a reassignment, bumps the
   leader epoch (the record names the leader); every record bumps the
   partition epoch (the image does that in ``merge``).
"""

from __future__ import annotations

import enum
from typing import Callable

from minikafka.metadata.image import PartitionRegistration
from minikafka.metadata.records import NO_LEADER, NO_LEADER_CHANGE, PartitionChangeRecord


class Election(enum.Enum):
    """Which leader the builder looks for (Kafka's ``LeaderElectionType`` + ONLINE)."""

    ONLINE = "online"  # keep a healthy leader; elect only when it is gone
    PREFERRED = "preferred"  # ElectLeaders type 0, and auto leader rebalance
    UNCLEAN = "unclean"  # ElectLeaders type 1: allow unclean for this change


class PartitionChangeBuilder:
    """Builds the change record for one partition. Use once, then drop.

    Args:
        partition: the partition's current registration.
        topic_id: its topic's id.
        partition_id: its index.
        is_active: tells whether a broker may lead / be in the ISR.
        unclean_allowed: the topic's ``unclean.leader.election.enable``.
    """

    def __init__(self, partition: PartitionRegistration, topic_id: bytes, partition_id: int,
                 is_active: Callable[[int], bool], unclean_allowed: bool = False):
        self.partition = partition
        self.topic_id = topic_id
        self.partition_id = partition_id
        self.is_active = is_active
        self.unclean_allowed = unclean_allowed
        self.election = Election.ONLINE
        self.target_isr = partition.isr
        self.target_replicas = partition.replicas
        self.target_adding = partition.adding_replicas
        self.target_removing = partition.removing_replicas

    # --- what the caller wants ----------------------------------------------------

    def set_target_isr(self, isr) -> PartitionChangeBuilder:
        self.target_isr = tuple(isr)
        return self

    def set_election(self, election: Election) -> PartitionChangeBuilder:
        self.election = election
        return self

    def set_target_assignment(self, replicas, adding=(), removing=()) -> PartitionChangeBuilder:
        self.target_replicas, self.target_adding, self.target_removing = tuple(replicas), tuple(adding), tuple(removing)
        return self

    # --- the decision -----------------------------------------------------------------

    def build(self) -> PartitionChangeRecord | None:
        """The change record, or None when the partition stays as it is."""
        self._complete_reassignment_if_possible()
        leader, isr = self._elect_leader()
        if not isr:  # rule 3: keep the last ISR, go offline
            leader, isr = NO_LEADER, self.partition.isr
        p = self.partition
        bump = leader != p.leader or any(b not in self.target_replicas for b in p.replicas)
        record = PartitionChangeRecord(
            partition_id=self.partition_id,
            topic_id=self.topic_id,
            isr=isr if isr != p.isr else None,
            leader=leader if bump else NO_LEADER_CHANGE,
            replicas=self.target_replicas if self.target_replicas != p.replicas else None,
            removing_replicas=self.target_removing if self.target_removing != p.removing_replicas else None,
            adding_replicas=self.target_adding if self.target_adding != p.adding_replicas else None,
        )
        unchanged = PartitionChangeRecord(self.partition_id, self.topic_id)
        return None if record == unchanged else record

    def _complete_reassignment_if_possible(self) -> None:
        if not (self.target_adding or self.target_removing):
            return
        final = tuple(b for b in self.target_replicas if b not in self.target_removing)
        if not all(b in self.target_isr for b in final):
            return  # a new replica is still catching up
        isr = tuple(b for b in self.target_isr if b in final)
        if isr:
            self.target_replicas, self.target_isr = final, isr
            self.target_adding = self.target_removing = ()

    def _acceptable(self, broker_id: int) -> bool:
        return broker_id in self.target_isr and self.is_active(broker_id)

    def _elect_leader(self) -> tuple[int, tuple[int, ...]]:
        """``(leader, isr)`` by the rules in the module docstring."""
        current = self.partition.leader
        preferred = self.target_replicas[0]
        if self.election is Election.PREFERRED and self._acceptable(preferred):
            return preferred, self.target_isr
        if current in self.target_replicas and self._acceptable(current):
            return current, self.target_isr
        for broker_id in self.target_replicas:
            if self._acceptable(broker_id):
                return broker_id, self.target_isr
        if self.unclean_allowed or self.election is Election.UNCLEAN:
            for broker_id in self.target_replicas:
                if self.is_active(broker_id):
                    return broker_id, (broker_id,)
        return NO_LEADER, self.target_isr
