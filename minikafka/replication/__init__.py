"""Partition replication rules, sans-I/O.

- ``epoch_cache``: the leader-epoch cache (Kafka's ``LeaderEpochFileCache``)
  and its ``leader-epoch-checkpoint`` file;
- ``leader_state``: what a partition leader keeps about its followers: their
  log end offsets, the high watermark, ISR shrink/expand, ``acks=all``
  completion and ``min.insync.replicas``;
- ``fetch_rules``: the leader's checks on a follower's Fetch (leader epoch
  fencing, diverging epoch);
- ``follower_state``: the follower's side: where to truncate and fetch next.

Nothing here opens a file (except the epoch cache's load/persist helpers), a
socket or a clock: callers pass ``now_ms`` and apply the decisions to the
``Log`` themselves.
"""
