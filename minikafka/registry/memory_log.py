"""An in-memory ``SchemaLog``: the registry's storage seam without Kafka.

``MemorySchemaLog`` keeps the ``_schemas`` records in a list, as the topic
would (encoded key and value bytes, in offset order), and applies each one
to the store as it is appended, through the same ``records.decode`` and
``SchemaStore.apply`` the Kafka-backed log uses. ``replay()`` builds a new
store from the records, ``restarted()`` a new log over them: what a
restarted registry would see.

It serves unit and API tests and a single throwaway registry; it loses
everything when the process ends.
"""

from __future__ import annotations

from minikafka.registry import records
from minikafka.registry.store import SchemaStore


class MemorySchemaLog:
    """A list of ``(key, value)`` records applied to one store. Not shared between tasks' stores."""

    def __init__(self, store: SchemaStore | None = None) -> None:
        self.store = store if store is not None else SchemaStore()
        self.records: list[tuple[bytes, bytes | None]] = []

    async def append(self, key: bytes, value: bytes | None) -> None:
        """Append one record and apply it to the store before returning."""
        self.records.append((key, value))
        self.store.apply(records.decode(key), records.decode(value))

    def replay(self) -> SchemaStore:
        """A fresh store rebuilt from every record, oldest first."""
        store = SchemaStore()
        for key, value in self.records:
            store.apply(records.decode(key), records.decode(value))
        return store

    def restarted(self, compact: bool = False) -> "MemorySchemaLog":
        """The log as a restarted registry finds it: the same records (or the compacted ones),
        and a store rebuilt from them."""
        log = MemorySchemaLog()
        log.records = self.compacted() if compact else list(self.records)
        log.store = log.replay()
        return log

    def compacted(self) -> list[tuple[bytes, bytes | None]]:
        """The records a finished compaction would keep: the last per key, in offset order."""
        last_offset = {key: offset for offset, (key, _) in enumerate(self.records)}
        return [self.records[offset] for offset in sorted(last_offset.values())]
