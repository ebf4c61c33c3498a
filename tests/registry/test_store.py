"""The _schemas records in Confluent's JSON, and the store rebuilt from them."""

import json

from minikafka.registry import records
from minikafka.registry.inputs import SchemaRequest
from minikafka.registry.service import RegistryService
from minikafka.registry.store import SchemaStore
from minikafka.schemas.base import SchemaReference, SchemaType

from .conftest import ORDER_V1, USER_V1, USER_V2_DEFAULT


def test_keys_are_confluents_json_byte_for_byte():
    assert records.encode(records.schema_key("orders-value", 3)) == \
        b'{"keytype":"SCHEMA","subject":"orders-value","version":3,"magic":1}'
    assert records.encode(records.config_key(None)) == b'{"keytype":"CONFIG","magic":0}'
    assert records.encode(records.config_key("s")) == b'{"keytype":"CONFIG","subject":"s","magic":0}'
    assert records.encode(records.mode_key(None)) == b'{"keytype":"MODE","magic":0}'
    assert records.encode(records.delete_subject_key("s")) == \
        b'{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}'
    assert records.encode(records.clear_subject_key("s")) == \
        b'{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}'
    assert records.encode(records.noop_key()) == b'{"keytype":"NOOP","magic":0}'


def test_values_are_confluents_json():
    avro = records.schema_value("s", 1, 7, "AVRO", [], '"string"', False)
    assert records.encode(avro) == b'{"subject":"s","version":1,"id":7,"schema":"\\"string\\"","deleted":false}'
    proto = records.schema_value("s", 2, 8, "PROTOBUF", [{"name": "a.proto", "subject": "a", "version": 1}],
                                 "syntax = \"proto3\";", True)
    assert list(proto) == ["subject", "version", "id", "schemaType", "references", "schema", "deleted"]
    assert proto["schemaType"] == "PROTOBUF" and proto["deleted"] is True
    assert records.config_value(None, "FULL") == {"compatibilityLevel": "FULL"}
    assert records.config_value("s", "NONE") == {"subject": "s", "compatibilityLevel": "NONE"}
    assert records.mode_value(None, "READONLY") == {"mode": "READONLY"}
    assert records.delete_subject_value("s", 3) == {"subject": "s", "version": 3}
    assert records.encode(None) is None and records.decode(None) is None
    assert records.decode(b"null") is None


def test_store_reads_records_written_by_confluent():
    """Confluent's own records (with fields this registry does not write) load."""
    store = SchemaStore()
    store.apply({"keytype": "SCHEMA", "subject": "t-value", "version": 1, "magic": 1},
                {"subject": "t-value", "version": 1, "id": 4, "md5": "abc", "schemaType": "AVRO",
                 "schema": '"string"', "deleted": False, "ts": 1})
    store.apply({"keytype": "CONFIG", "magic": 0}, {"compatibilityLevel": "FULL", "normalize": True})
    store.apply({"keytype": "NOOP", "magic": 0}, None)
    store.apply({"keytype": "SOMETHING_NEW", "magic": 0}, {"x": 1})   # unknown: skipped
    store.apply({"keytype": "SCHEMA", "subject": "bad", "version": 1, "magic": 1}, {"id": 1})  # no schema
    entry = store.get("t-value", 1)
    assert (entry.id, entry.schema_type, entry.schema, entry.deleted) == (4, SchemaType.AVRO, '"string"', False)
    assert store.compatibility_level(None) == "FULL"
    assert store.max_id == 4
    assert (store.applied_records, store.skipped_records) == (3, 2)


def test_soft_delete_subject_then_tombstones_and_ids():
    store = SchemaStore()
    for version, schema_id in ((1, 1), (2, 2)):
        store.apply(records.schema_key("a", version),
                    records.schema_value("a", version, schema_id, "AVRO", [], f'"s{version}"', False))
    store.apply(records.schema_key("b", 1), records.schema_value("b", 1, 1, "AVRO", [], '"s1"', False))
    store.apply(records.delete_subject_key("a"), records.delete_subject_value("a", 2))
    assert store.subjects() == ["b"] and store.subjects(include_deleted=True) == ["a", "b"]
    assert [v.deleted for v in store.versions("a", include_deleted=True)] == [True, True]
    store.apply(records.schema_key("a", 2), None)   # permanent delete of version 2
    assert store.get("a", 2) is None and store.schema_with_id(2) is None
    assert store.id_of(SchemaType.AVRO, '"s2"', ()) is None
    assert store.id_of(SchemaType.AVRO, '"s1"', ()) == 1   # still held by a/1 (soft) and b/1
    assert [(v.subject, v.version) for v in store.versions_with_id(1, include_deleted=True)] == [("a", 1), ("b", 1)]
    assert store.max_id == 2   # ids are never handed out twice in a run


def test_referenced_by_scans_references():
    store = SchemaStore()
    store.apply(records.schema_key("base", 1), records.schema_value("base", 1, 1, "AVRO", [], ORDER_V1, False))
    ref = {"name": "shop.Order", "subject": "base", "version": 1}
    store.apply(records.schema_key("user", 1), records.schema_value("user", 1, 2, "AVRO", [ref], USER_V1, False))
    assert [v.id for v in store.referenced_by("base", 1)] == [2]
    assert store.get("user", 1).references == (SchemaReference("shop.Order", "base", 1),)


async def test_replay_rebuilds_the_same_state(service, memory_log):
    """Restart = same state: a store rebuilt from the records (and from the compacted topic) is equal."""
    await service.register("a", SchemaRequest(USER_V1))
    await service.register("a", SchemaRequest(USER_V2_DEFAULT))
    await service.register("b", SchemaRequest(USER_V1))
    await service.register("c", SchemaRequest('{"type": "string"}'))
    await service.set_config("a", "full")
    await service.set_config(None, "FORWARD")
    await service.set_mode("c", "READONLY")
    await service.delete_version("a", "2")
    await service.delete_subject("b")
    await service.delete_subject("b", permanent=True)
    await service.delete_config(None)
    await service.register("b", SchemaRequest(json.dumps({"type": "array", "items": "int"})))

    expected = memory_log.store.snapshot()
    assert memory_log.replay().snapshot() == expected
    compacted = memory_log.restarted(compact=True)
    assert len(compacted.records) < len(memory_log.records)
    assert compacted.store.snapshot() == expected
    assert expected["subjects"]["b"][0]["id"] == 4   # a new schema after a hard delete: a new id

    # and a service over the rebuilt store answers the same
    restarted = RegistryService(compacted.store, compacted)
    assert await restarted.subjects() == ["a", "b", "c"]
    assert (await restarted.get_version("a", "latest")).version == 1
    assert await restarted.get_config("a") == "FULL"
    assert await restarted.get_mode("c") == "READONLY"
