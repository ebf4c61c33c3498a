"""The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, and committed offsets.

This is the protocol Kafka clients spoke before KIP-848 (Kafka's
``ClassicGroup`` and the classic half of its ``GroupMetadataManager``). The
broker keeps the membership; the group's *leader*, a client, computes the
assignment, and the coordinator hands it out with SyncGroup. Static
membership is KIP-345, the two-step join (MEMBER_ID_REQUIRED) KIP-394,
offset retention KIP-211.

A group's states (``GroupState``, with Kafka's table of allowed
transitions in ``group.py``)::

    EMPTY --join--> PREPARING_REBALANCE --everyone joined / rebalance timeout-->
    COMPLETING_REBALANCE --the leader's SyncGroup--> STABLE

    STABLE or COMPLETING_REBALANCE --membership or subscription change-->
    PREPARING_REBALANCE --the last member left--> EMPTY
    any state --deleted, or its last offset expired--> DEAD

Modules:

- ``group``: ``Group`` and ``Member``, the state machine and protocol
  selection (pure data and rules);
- ``coordinator``: ``GroupCoordinator``, which drives the rebalance (join,
  sync, heartbeat, leave) and the timers;
- ``offsets``: OffsetCommit, OffsetFetch, OffsetDelete and retention (a
  mixin of ``GroupCoordinator``);
- ``admin``: ListGroups, DescribeGroups, DeleteGroups and ``replay`` (a
  mixin of ``GroupCoordinator``);
- ``config``: ``GroupConfig``, the broker settings the coordinator uses.

Committed offsets are kept here for groups of *both* protocols: a KIP-848
consumer group's offsets sit in a *simple* classic group of the same id,
which holds offsets and never members; ``coordinator.consumer`` only
decides who may commit.

Records and replay: this package writes two record types to
``__consumer_offsets`` (codecs in ``coordinator/records.py``): a committed
offset (key type 1, one key per group, topic and partition) and a group's
metadata (key type 2: the whole *settled* group, written after a SyncGroup
or when it went empty). ``GroupCoordinator.replay(key, value)`` applies one
record; a coordinator that loads a partition replays it from the start, and
the live path applies offset records through the same code. A replayed group
is therefore STABLE or EMPTY: a rebalance that was in flight is redone by its
members, as in Kafka.

Everything here is sans-I/O: no trio, no sockets, no clock. An operation
takes a decoded request and ``now_ms`` and returns a ``CoordinatorResult``
(``coordinator/result.py``); ``coordinator/runtime.py`` appends its records
and sends its responses.
"""
