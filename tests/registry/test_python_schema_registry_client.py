"""A second, independent client from PyPI (python-schema-registry-client) against the served registry."""

import json

import trio
from schema_registry.client import SchemaRegistryClient, schema

from .conftest import USER_V1, USER_V2_DEFAULT, USER_V2_NO_DEFAULT, serving_registry


def session(url: str) -> None:
    client = SchemaRegistryClient(url=url)
    v1 = schema.AvroSchema(json.loads(USER_V1))
    user_id = client.register("users-value", v1)
    assert client.register("users-value", v1) == user_id
    assert client.get_by_id(user_id) == v1
    found = client.check_version("users-value", v1)
    assert (found.schema_id, found.version) == (user_id, 1)
    assert client.check_version("users-value", schema.AvroSchema(json.loads(USER_V2_DEFAULT))) is None
    assert client.test_compatibility("users-value", schema.AvroSchema(json.loads(USER_V2_DEFAULT))) is True
    verdict = client.test_compatibility("users-value", schema.AvroSchema(json.loads(USER_V2_NO_DEFAULT)),
                                        verbose=True)
    assert verdict["is_compatible"] is False and verdict["messages"]
    assert client.update_compatibility("FULL", "users-value") is True
    assert client.get_compatibility("users-value") == "FULL"
    json_schema = schema.JsonSchema({"type": "object", "properties": {"a": {"type": "string"}}})
    json_id = client.register("things-value", json_schema)
    assert client.get_by_id(json_id).schema_type == "JSON"
    assert client.get_subjects() == ["things-value", "users-value"]
    assert client.get_versions("users-value") == [1]
    got = client.get_schema("users-value", "latest")
    assert (got.schema_id, got.version) == (user_id, 1)
    assert client.delete_version("users-value", 1) == 1
    assert client.delete_subject("things-value") == [1]
    assert client.get_subjects() == []


async def test_python_schema_registry_client(service):
    async with serving_registry(service) as url:
        await trio.to_thread.run_sync(session, url)
