"""The consumer group protocol of KIP-848: ConsumerGroupHeartbeat and ConsumerGroupDescribe.

In this protocol the broker computes the assignment (a server-side
assignor) and hands it to each member a step at a time in its heartbeat
responses: there is no group-wide join and sync barrier. Models: Kafka 4.0's
``ConsumerGroup``, ``ConsumerGroupMember``, ``CurrentAssignmentBuilder`` and
the consumer half of its ``GroupMetadataManager``.

Three epochs drive it: the *group epoch* goes up when membership,
subscriptions or the subscribed topics' partition counts change; the
*assignment epoch* is the group epoch the target assignment was computed
at; each *member epoch* catches up with the assignment epoch as the member
reconciles.

States. The group's (``ConsumerGroupState``) is derived from its data:
EMPTY (no members), ASSIGNING (the group epoch is ahead of the assignment
epoch), RECONCILING (some member has not reached its target), STABLE; DEAD
once deleted. A member's (``MemberState``) follows reconciliation::

    UNREVOKED_PARTITIONS --owned partitions revoked--> UNRELEASED_PARTITIONS
    --partitions released by their previous owners--> STABLE

(either waiting state is skipped when there is nothing to wait for).

Modules:

- ``coordinator``: ``ConsumerGroupCoordinator``, the heartbeat, the timers
  and ``replay``;
- ``group``: ``ConsumerGroup``, the persisted state of one group;
- ``member``: ``ConsumerGroupMember`` and ``reconcile``;
- ``records``: the record types 3 to 8 of ``__consumer_offsets``;
- ``requests``: the checks on a heartbeat request and member-epoch fencing;
- ``admin``: describe, list, delete, the offset-commit checks, and the
  hooks for the classic protocol (a mixin of the coordinator);
- ``assignors``: the server-side assignors, ``uniform`` and ``range``.

Records and replay: every change is a record (types 3 to 8, one key per
group or per member, so compaction keeps the latest of each). The
coordinator applies each record it writes through ``replay`` and
``ConsumerGroup.apply``, the same code that rebuilds the groups when a
coordinator loads its partition, so the state after an operation and after
a restart are the same. Timers (sessions, rebalance timeouts) are not
persisted: ``on_loaded`` re-arms them.

Committed offsets are kept by the classic coordinator
(``coordinator/classic/offsets.py``); this package checks the member epoch
that OffsetCommit and OffsetFetch carry.

Everything here is sans-I/O: no trio, no sockets, no clock.
``coordinator/runtime.py`` drives it, one operation at a time.
"""
