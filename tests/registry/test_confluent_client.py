"""confluent-kafka's SchemaRegistryClient, unmodified, against the registry over real HTTP."""

import json

import pytest
import trio
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from .conftest import ORDER_V1, USER_V1, USER_V2_DEFAULT, USER_V2_NO_DEFAULT, serving_registry


def run_client(url: str, session) -> None:
    client = SchemaRegistryClient({"url": url})
    try:
        session(client)
    finally:
        client.__exit__()


async def with_client(service, session) -> None:
    async with serving_registry(service) as url:
        await trio.to_thread.run_sync(run_client, url, session)


def error_code(call) -> tuple[int, int]:
    with pytest.raises(SchemaRegistryError) as caught:
        call()
    return caught.value.http_status_code, caught.value.error_code


async def test_register_get_lookup_and_versions(service):
    def session(client: SchemaRegistryClient):
        user_id = client.register_schema("users-value", Schema(USER_V1, "AVRO"))
        assert client.register_schema("other-value", Schema(USER_V1, "AVRO")) == user_id
        fetched = client.get_schema(user_id)
        assert fetched.schema_type == "AVRO" and json.loads(fetched.schema_str) == json.loads(USER_V1)
        found = client.lookup_schema("users-value", Schema(USER_V1, "AVRO"))
        assert (found.schema_id, found.version, found.subject) == (user_id, 1, "users-value")
        v2_id = client.register_schema("users-value", Schema(USER_V2_DEFAULT, "AVRO"))
        latest = client.get_latest_version("users-value")
        assert (latest.schema_id, latest.version) == (v2_id, 2)
        assert client.get_version("users-value", 1).schema_id == user_id
        assert client.get_versions("users-value") == [1, 2]
        assert client.get_subjects() == ["other-value", "users-value"]
        assert client.get_subjects_by_schema_id(user_id) == ["other-value", "users-value"]
        assert {(v.subject, v.version) for v in client.get_schema_versions(user_id)} == {
            ("other-value", 1), ("users-value", 1)}
        assert sorted(client.get_schema_types()) == ["AVRO", "JSON", "PROTOBUF"]
        assert error_code(lambda: client.get_version("users-value", 9)) == (404, 40402)
        assert error_code(lambda: client.get_latest_version("nobody")) == (404, 40401)
        assert error_code(lambda: client.get_schema(999)) == (404, 40403)
        assert error_code(lambda: client.register_schema("bad", Schema('{"type": "nope"}', "AVRO"))) == \
            (422, 42201)
        assert error_code(lambda: client.lookup_schema("users-value", Schema(ORDER_V1, "AVRO"))) == \
            (404, 40403)
    await with_client(service, session)


async def test_compatibility_and_config(service):
    def session(client: SchemaRegistryClient):
        client.register_schema("u", Schema(USER_V1, "AVRO"))
        assert client.test_compatibility("u", Schema(USER_V2_DEFAULT, "AVRO")) is True
        assert client.test_compatibility("u", Schema(USER_V2_NO_DEFAULT, "AVRO")) is False
        assert client.test_compatibility_all_versions("u", Schema(USER_V2_NO_DEFAULT, "AVRO")) is False
        status, code = error_code(lambda: client.register_schema("u", Schema(USER_V2_NO_DEFAULT, "AVRO")))
        assert (status, code) == (409, 40901)
        assert client.get_compatibility() == "BACKWARD"
        assert client.set_compatibility(level="FULL") == {"compatibility": "FULL"}
        assert client.set_compatibility("u", "NONE") == {"compatibility": "NONE"}
        assert client.get_compatibility("u") == "NONE"
        assert client.get_config().compatibility_level.value == "FULL"
        assert client.register_schema("u", Schema(USER_V2_NO_DEFAULT, "AVRO")) == 2
        assert client.delete_config("u").compatibility_level.value == "NONE"
        assert error_code(lambda: client.set_compatibility("u", "SIDEWAYS")) == (422, 42203)
    await with_client(service, session)


async def test_modes_deletes_and_references(service):
    def session(client: SchemaRegistryClient):
        order_id = client.register_schema("order", Schema(ORDER_V1, "AVRO"))
        user = json.dumps({"type": "record", "name": "User", "namespace": "shop",
                           "fields": [{"name": "last", "type": "shop.Order"}]})
        user_id = client.register_schema("user", Schema(user, "AVRO", [SchemaReference("shop.Order", "order", 1)]))
        assert client.get_referenced_by("order", 1) == [user_id]
        got = client.get_version("user", 1)
        assert [(r.name, r.subject, r.version) for r in got.schema.references] == [("shop.Order", "order", 1)]
        assert error_code(lambda: client.delete_subject("order")) == (422, 42206)

        assert client.update_mode("user", "READONLY") == "READONLY"
        assert client.get_mode("user") == "READONLY"
        assert error_code(lambda: client.delete_version("user", 1)) == (422, 42205)
        assert client.delete_mode("user") == "READONLY"
        assert client.get_global_mode() == "READWRITE"

        assert client.delete_version("user", 1) == 1
        assert client.delete_version("user", 1, permanent=True) == 1
        assert client.delete_subject("order") == [1]
        assert client.delete_subject("order", permanent=True) == [1]
        assert client.get_subjects() == []
        assert error_code(lambda: client.get_schema(order_id + 100)) == (404, 40403)
    await with_client(service, session)


async def test_json_schema_and_protobuf(service):
    def session(client: SchemaRegistryClient):
        json_schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}})
        json_id = client.register_schema("j", Schema(json_schema, "JSON"))
        assert client.get_schema(json_id).schema_type == "JSON"
        proto = 'syntax = "proto3";\npackage shop;\nmessage Item { string sku = 1; int32 count = 2; }\n'
        proto_id = client.register_schema("p", Schema(proto, "PROTOBUF"))
        fetched = client.get_latest_version("p")
        assert (fetched.schema_id, fetched.schema.schema_type) == (proto_id, "PROTOBUF")
        assert client.lookup_schema("p", Schema(proto, "PROTOBUF")).schema_id == proto_id
    await with_client(service, session)
