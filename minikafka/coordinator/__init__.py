"""Coordinators: consumer groups and their offsets (``__consumer_offsets``), producer ids.

- ``classic/``: the classic group protocol (JoinGroup, SyncGroup, ...) and
  the committed offsets of every group;
- ``consumer/``: the KIP-848 consumer group protocol (ConsumerGroupHeartbeat);
- ``records.py``: the byte format of committed-offset and classic-group
  records, and the decoder every ``__consumer_offsets`` record goes through;
- ``result.py``: ``CoordinatorResult``, what an operation of either
  protocol returns;
- ``group_partition.py``: which ``__consumer_offsets`` partition owns a group;
- ``runtime.py``: the Trio runtime that drives both group coordinators
  (one shard per partition of ``__consumer_offsets``: load, write then
  answer, timers);
- ``producer_id_blocks.py``: producer ids in blocks the controller
  allocates, and epoch bumps (the rules); ``producer_ids.py``: the Trio
  driver that asks the controller for the blocks.

Import rule: ``classic/``, ``consumer/``, ``records.py``, ``result.py``,
``group_partition.py`` and ``producer_id_blocks.py`` are sans-I/O. They import
neither trio nor the server, the handlers or the broker; only ``runtime.py``
and ``producer_ids.py`` drive them with trio.
"""
