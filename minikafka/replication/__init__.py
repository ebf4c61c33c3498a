"""Partition replication: who may append, and when the high watermark moves.

- ``partition``: ``Partition``, one partition's role (leader or follower),
  ISR state and listeners, over its storage engine
  (``storage.unified_log.UnifiedLog``);
- ``leader_state``: what a partition leader keeps about its followers
  (``PartitionLeaderState``, ``FollowerReplicaState``): their log end
  offsets, the high watermark, ISR shrink/expand, ``acks=all`` completion
  and ``min.insync.replicas``;
- ``fetch_rules``: the leader's checks on a follower's Fetch (leader epoch
  fencing, diverging epoch);
- ``follower_state``: the follower's side (``PartitionFollowerState``): where
  to truncate and fetch next;
- ``waiters``: the Trio waits on partitions (long-polling fetches, acks=all);
- ``fetcher`` and ``manager``: the replica fetcher and the ``ReplicaManager``,
  the Trio runtime that drives the rest.

The rule modules (``leader_state``, ``fetch_rules``, ``follower_state``) and
``partition`` open no socket and read no clock: callers pass ``now_ms``.
"""
