"""RegistryService's rules (Confluent's), over the in-memory log."""

import json

import pytest

from minikafka.registry import errors
from minikafka.registry.errors import RegistryError
from minikafka.registry.inputs import SchemaRequest
from minikafka.registry.service import RegistryService
from minikafka.schemas.base import SchemaReference, SchemaType

from .conftest import ORDER_V1, USER_V1, USER_V2_DEFAULT, USER_V2_NO_DEFAULT


async def refused(code: int, call) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        await call
    assert caught.value.error_code == code, caught.value
    return caught.value


async def test_same_schema_same_id_and_idempotent_registration(service, memory_log):
    assert await service.register("a", SchemaRequest(USER_V1)) == 1
    assert await service.register("a", SchemaRequest(USER_V1)) == 1
    assert len(memory_log.records) == 1                     # nothing written the second time
    # the same schema, written differently, is the same schema
    assert await service.register("b", SchemaRequest(json.dumps(json.loads(USER_V1), indent=4))) == 1
    assert await service.register("a", SchemaRequest(USER_V2_DEFAULT)) == 2
    assert await service.versions("a") == [1, 2]
    assert [(v.subject, v.version) for v in await service.versions_by_id(1)] == [("a", 1), ("b", 1)]
    assert await service.subjects_by_id(1) == ["a", "b"]


async def test_incompatible_schema_is_refused_with_the_reason(service):
    await service.register("a", SchemaRequest(USER_V1))
    error = await refused(errors.INCOMPATIBLE_SCHEMA, service.register("a", SchemaRequest(USER_V2_NO_DEFAULT)))
    assert error.http_status == 409
    assert 'incompatible with an earlier schema for subject "a"' in error.message
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in error.message and "email" in error.message
    verdict = await service.test_compatibility("a", "latest", SchemaRequest(USER_V2_NO_DEFAULT), verbose=True)
    assert verdict["is_compatible"] is False and any("email" in m for m in verdict["messages"])
    assert await service.test_compatibility("a", None, SchemaRequest(USER_V2_DEFAULT)) == {"is_compatible": True}
    assert verdict["messages"][-1] == "{validateFields: 'false', compatibility: 'BACKWARD'}"
    # verbose: an invalid schema is a verdict with the reason, not a 42201
    verdict = await service.test_compatibility("a", "latest", SchemaRequest("{"), verbose=True)
    assert verdict["is_compatible"] is False and "Invalid schema" in verdict["messages"][0]
    await refused(errors.INVALID_SCHEMA, service.test_compatibility("a", "latest", SchemaRequest("{")))
    await service.set_config("a", "NONE")
    assert await service.register("a", SchemaRequest(USER_V2_NO_DEFAULT)) == 2


async def test_transitive_levels_check_every_live_version(service):
    """v2 drops v1's field 'email' ... BACKWARD accepts v3 against v2, BACKWARD_TRANSITIVE does not."""
    v1 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    v2 = json.dumps({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}]})
    v3 = json.dumps({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string"}]})
    await service.register("r", SchemaRequest(v1))
    await service.register("r", SchemaRequest(v2))
    await service.set_config("r", "BACKWARD_TRANSITIVE")
    assert not (await service.test_compatibility("r", None, SchemaRequest(v3)))["is_compatible"]
    await refused(errors.INCOMPATIBLE_SCHEMA, service.register("r", SchemaRequest(v3)))
    await service.set_config("r", "BACKWARD")
    assert await service.register("r", SchemaRequest(v3)) == 3


async def test_invalid_schemas_and_requests(service):
    await refused(errors.INVALID_SCHEMA, service.register("a", SchemaRequest('{"type": "record"}')))
    await refused(errors.INVALID_SCHEMA, service.register("a", SchemaRequest("not json at all")))
    await refused(errors.INVALID_SCHEMA, service.register(
        "a", SchemaRequest('{"type": 42}', SchemaType.JSON)))
    await refused(errors.INVALID_SCHEMA, service.register(
        "a", SchemaRequest("message {", SchemaType.PROTOBUF)))
    with pytest.raises(RegistryError) as caught:
        SchemaRequest.from_json({"schema": "{}", "schemaType": "XML"})
    assert caught.value.error_code == errors.INVALID_SCHEMA
    with pytest.raises(RegistryError) as caught:
        SchemaRequest.from_json({"schemaType": "AVRO"})
    assert caught.value.error_code == errors.INVALID_SCHEMA
    with pytest.raises(RegistryError) as caught:
        SchemaRequest.from_json(["schema"])
    assert caught.value.http_status == 422
    await refused(errors.INVALID_SCHEMA, service.register(   # a reference to nothing
        "a", SchemaRequest(USER_V1, references=(SchemaReference("x", "nowhere", 1),))))
    assert await service.subjects(deleted=True) == []


async def test_unknown_subjects_versions_and_ids(service):
    await refused(errors.SUBJECT_NOT_FOUND, service.get_version("nope", "1"))
    await refused(errors.SUBJECT_NOT_FOUND, service.versions("nope"))
    await refused(errors.SUBJECT_NOT_FOUND, service.lookup("nope", SchemaRequest(USER_V1)))
    await service.register("a", SchemaRequest(USER_V1))
    await refused(errors.VERSION_NOT_FOUND, service.get_version("a", "2"))
    await refused(errors.INVALID_VERSION, service.get_version("a", "two"))
    await refused(errors.INVALID_VERSION, service.get_version("a", "0"))
    await refused(errors.INVALID_VERSION, service.get_version("a", str(2**31)))
    await refused(errors.SCHEMA_NOT_FOUND, service.lookup("a", SchemaRequest(ORDER_V1)))
    await refused(errors.SCHEMA_NOT_FOUND, service.schema_by_id(99))
    await refused(errors.SCHEMA_NOT_FOUND, service.subjects_by_id(99))
    # a compatibility test against a numbered version of a missing subject: 40402, as Confluent
    await refused(errors.VERSION_NOT_FOUND, service.test_compatibility("nope", "1", SchemaRequest(USER_V1)))
    assert await service.test_compatibility("nope", "latest", SchemaRequest(USER_V1)) == {"is_compatible": True}
    assert (await service.get_version("a", "-1")).version == 1
    assert (await service.lookup("a", SchemaRequest(USER_V1))).to_json() == {
        "subject": "a", "version": 1, "id": 1, "schema": (await service.schema_by_id(1))["schema"]}


async def test_soft_then_permanent_delete(service):
    await service.register("a", SchemaRequest(USER_V1))
    await service.register("a", SchemaRequest(USER_V2_DEFAULT))
    await refused(errors.VERSION_NOT_SOFT_DELETED, service.delete_version("a", "1", permanent=True))
    assert await service.delete_version("a", "latest") == 2
    await refused(errors.VERSION_SOFT_DELETED, service.delete_version("a", "2"))
    # "latest" names the newest live version, even for a permanent delete (Confluent's rule)
    await refused(errors.VERSION_NOT_SOFT_DELETED, service.delete_version("a", "latest", permanent=True))
    await refused(errors.VERSION_NOT_FOUND, service.get_version("a", "2"))
    assert (await service.get_version("a", "2", deleted=True)).version == 2
    assert await service.versions("a") == [1] and await service.versions("a", deleted=True) == [1, 2]
    assert await service.versions("a", deleted_only=True) == [2]
    # registering a soft-deleted schema again: the same id, a new version, and (as
    # Confluent does) the soft deleted version with that id is permanently deleted
    assert await service.register("a", SchemaRequest(USER_V2_DEFAULT)) == 2
    assert await service.versions("a") == [1, 3]
    assert await service.versions("a", deleted=True) == [1, 3]
    await refused(errors.SUBJECT_NOT_SOFT_DELETED, service.delete_subject("a", permanent=True))
    assert await service.delete_subject("a") == [1, 3]
    await refused(errors.SUBJECT_SOFT_DELETED, service.delete_subject("a"))
    assert await service.subjects() == [] and await service.subjects(deleted=True) == ["a"]
    await refused(errors.SUBJECT_NOT_FOUND, service.get_version("a", "latest"))
    await refused(errors.VERSION_NOT_FOUND, service.delete_version("a", "latest"))  # the subject still counts
    assert await service.delete_subject("a", permanent=True) == [1, 3]
    await refused(errors.SUBJECT_NOT_FOUND, service.delete_subject("a"))
    await refused(errors.SCHEMA_NOT_FOUND, service.schema_by_id(1))
    # versions start again at 1; ids are not reused
    assert await service.register("a", SchemaRequest(ORDER_V1)) == 3
    assert await service.versions("a") == [1]


async def test_references_and_referencedby(service):
    assert await service.register("order", SchemaRequest(ORDER_V1)) == 1
    user = json.dumps({"type": "record", "name": "User", "namespace": "shop",
                       "fields": [{"name": "last_order", "type": "shop.Order"}]})
    ref = SchemaReference("shop.Order", "order", 1)
    assert await service.register("user", SchemaRequest(user, references=(ref,))) == 2
    assert await service.referenced_by("order", "1") == [2]
    assert (await service.get_version("user", "1")).references == (ref,)
    assert (await service.schema_by_id(2))["references"] == [{"name": "shop.Order", "subject": "order",
                                                                 "version": 1}]
    await refused(errors.REFERENCE_EXISTS, service.delete_version("order", "1"))
    await refused(errors.REFERENCE_EXISTS, service.delete_subject("order"))
    # a reference to "latest" (-1) is pinned to the version it means now
    assert await service.register("user2", SchemaRequest(user, references=(
        SchemaReference("shop.Order", "order", -1),))) == 2
    await service.delete_subject("user")
    await service.delete_subject("user2")
    assert await service.referenced_by("order", "1") == []
    assert await service.delete_subject("order") == [1]


async def test_config_levels(service):
    assert await service.get_config() == "BACKWARD"
    await refused(errors.SUBJECT_COMPATIBILITY_NOT_CONFIGURED, service.get_config("a"))
    assert await service.get_config("a", default_to_global=True) == "BACKWARD"
    assert await service.set_config(None, "full_transitive") == "FULL_TRANSITIVE"
    assert await service.set_config("a", "FORWARD") == "FORWARD"
    assert await service.get_config("a") == "FORWARD"
    await refused(errors.INVALID_COMPATIBILITY_LEVEL, service.set_config("a", "SIDEWAYS"))
    await refused(errors.INVALID_COMPATIBILITY_LEVEL, service.set_config("a", None))
    assert await service.delete_config("a") == "FORWARD"
    assert await service.get_config("a", default_to_global=True) == "FULL_TRANSITIVE"
    await refused(errors.SUBJECT_NOT_FOUND, service.delete_config("a"))   # no level of its own left
    assert await service.delete_config() == "FULL_TRANSITIVE"
    assert await service.get_config() == "BACKWARD"


async def test_modes_readonly_and_import(service):
    assert await service.get_mode() == "READWRITE"
    await refused(errors.SUBJECT_MODE_NOT_CONFIGURED, service.get_mode("a"))
    await refused(errors.INVALID_MODE, service.set_mode(None, "SLEEPY"))
    await service.set_mode("a", "READONLY")
    error = await refused(errors.OPERATION_NOT_PERMITTED, service.register("a", SchemaRequest(USER_V1)))
    assert "read-only" in error.message
    assert await service.register("b", SchemaRequest(USER_V1)) == 1
    await refused(errors.OPERATION_NOT_PERMITTED, service.set_mode(None, "IMPORT"))  # subjects exist
    await service.register("gone", SchemaRequest(ORDER_V1))
    await service.delete_subject("gone")
    assert await service.set_mode("gone", "IMPORT") == "IMPORT"   # a soft deleted subject does not count
    assert await service.set_mode("gone", "IMPORT") == "IMPORT"   # already importing: nothing to check
    # IMPORT: the request names the id (and version); a plain registration is refused
    assert await service.set_mode("imported", "IMPORT") == "IMPORT"
    await refused(errors.OPERATION_NOT_PERMITTED, service.register("imported", SchemaRequest(ORDER_V1)))
    assert await service.register("imported", SchemaRequest(ORDER_V1, id=42, version=5)) == 42
    assert (await service.get_version("imported", "5")).id == 42
    await refused(errors.ID_DOES_NOT_MATCH, service.register("imported", SchemaRequest(USER_V2_DEFAULT, id=42)))
    await refused(errors.OPERATION_NOT_PERMITTED, service.register("b", SchemaRequest(ORDER_V1, id=50)))
    assert await service.delete_mode("imported") == "IMPORT"
    await refused(errors.SUBJECT_NOT_FOUND, service.delete_mode("imported"))  # no mode of its own left
    assert await service.register("c", SchemaRequest(USER_V2_DEFAULT)) == 43   # after the highest id


async def test_normalize_registers_the_normal_form(service):
    messy = json.dumps({"type": "record", "name": "N", "fields": [
        {"name": "a", "type": {"type": "int"}}]})
    schema_id = await service.register("n", SchemaRequest(messy), normalize=True)
    stored = (await service.schema_by_id(schema_id))["schema"]
    assert (await service.lookup("n", SchemaRequest(messy), normalize=True)).id == schema_id
    assert (await service.lookup("n", SchemaRequest(stored))).id == schema_id


async def test_json_and_protobuf_schemas(service):
    json_schema = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
    json_id = await service.register("j", SchemaRequest(json_schema, SchemaType.JSON))
    proto = 'syntax = "proto3";\npackage shop;\nmessage Item { string sku = 1; }\n'
    proto_id = await service.register("p", SchemaRequest(proto, SchemaType.PROTOBUF))
    assert json_id != proto_id
    assert (await service.schema_by_id(json_id))["schemaType"] == "JSON"
    assert (await service.get_version("p", "1")).to_json()["schemaType"] == "PROTOBUF"
    # a new type for a subject is incompatible
    await refused(errors.INCOMPATIBLE_SCHEMA, service.register("p", SchemaRequest(json_schema, SchemaType.JSON)))


async def test_a_follower_does_not_write(memory_log):
    class Follower:
        def is_leader(self):
            return False

        def leader_url(self):
            return "http://leader:8081"

    follower = RegistryService(memory_log.store, memory_log, Follower())
    await refused(errors.UNKNOWN_LEADER, follower.register("a", SchemaRequest(USER_V1)))
    assert memory_log.records == []


async def test_a_failing_log_is_a_store_error(memory_log):
    class BrokenLog:
        async def append(self, key, value):
            raise ConnectionError("no broker")

    broken = RegistryService(memory_log.store, BrokenLog())
    error = await refused(errors.STORE_ERROR, broken.register("a", SchemaRequest(USER_V1)))
    assert error.http_status == 500 and "no broker" in error.message


async def test_concurrent_registrations_never_share_an_id(memory_log):
    """Registrations race on the next id and version; the write lock hands each out once."""
    import trio

    class SlowLog:
        """Yields before applying, as a real log waits for the broker."""

        async def append(self, key, value):
            await trio.sleep(0.001)
            await memory_log.append(key, value)

    service = RegistryService(memory_log.store, SlowLog())
    service_ids: dict[int, int] = {}

    async def register(n: int) -> None:
        schema = json.dumps({"type": "record", "name": f"R{n}", "fields": []})
        service_ids[n] = await service.register(f"s{n % 3}", SchemaRequest(schema), normalize=False)

    await service.set_config(None, "NONE")
    async with trio.open_nursery() as nursery:
        for n in range(30):
            nursery.start_soon(register, n)
    assert sorted(service_ids.values()) == list(range(1, 31))
    for subject in ("s0", "s1", "s2"):
        assert await service.versions(subject) == list(range(1, 11))


async def test_schemas_too_deep_to_parse_or_compare_are_refused_never_a_500(service):
    def nested_arrays(leaf: str, depth: int = 400) -> str:
        return '{"type": "array", "items": ' * depth + leaf + "}" * depth

    for leaf in ('"int"', '"long"'):
        try:
            await service.register("deep", SchemaRequest(nested_arrays(leaf)))
        except RegistryError as exc:
            assert exc.error_code in (errors.INCOMPATIBLE_SCHEMA, errors.INVALID_SCHEMA), exc
    await refused(errors.INVALID_SCHEMA, service.register("deeper", SchemaRequest(nested_arrays('"int"', 5_000))))
