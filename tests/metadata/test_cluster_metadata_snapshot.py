"""Metadata snapshots: the image is written to ``__cluster_metadata-0`` and a
restart rebuilds it from the snapshot plus the entries after it."""

from __future__ import annotations

import os

import trio

from minikafka.testing import open_broker


async def test_snapshot_written_and_restart_loads_it(tmp_path, autojump_clock):
    overrides = {"metadata.log.max.record.bytes.between.snapshots": 1}
    async with open_broker(tmp_path, **overrides) as broker:
        created = await broker.create_topic("before", 2, {"retention.ms": "1000"})
        await trio.sleep(2)  # the snapshot task checks every second
        metadata_dir = tmp_path / "__cluster_metadata-0"
        assert any(name.endswith(".checkpoint") for name in os.listdir(metadata_dir))
        assert broker.metadata.quorum.node.log.log_start_offset > 0  # the log below it is gone
        after = await broker.create_topic("after", 1, {})
    async with open_broker(tmp_path, **overrides) as reopened:
        assert reopened.topics.get("before") == created
        assert reopened.topics.get("after") == after
        assert set(reopened.partitions) == {("before", 0), ("before", 1), ("after", 0)}
