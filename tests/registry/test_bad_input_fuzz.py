"""Whatever a client sends as a body, the registry answers with one of Confluent's 4xx errors, never a 500."""

import json

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minikafka.registry.errors import RegistryError
from minikafka.registry.inputs import SchemaRequest
from minikafka.registry.memory_log import MemorySchemaLog
from minikafka.registry.service import RegistryService

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
AVRO_WORDS = st.sampled_from(["record", "enum", "array", "map", "fixed", "string", "int", "null", "union",
                              "name", "fields", "type", "symbols", "items", "values", "size", "default"])
AVRO_LIKE = st.recursive(
    AVRO_WORDS | st.integers(-2, 3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(AVRO_WORDS, children, max_size=4),
    max_leaves=15,
)
BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"schema": st.text(max_size=40)},
                          optional={"schemaType": st.sampled_from(["AVRO", "JSON", "PROTOBUF", "avro", "X", 3]),
                                    "references": JSON_VALUES, "id": JSON_VALUES, "version": JSON_VALUES}),
    st.builds(lambda s, t: {"schema": json.dumps(s), "schemaType": t}, AVRO_LIKE,
              st.sampled_from(["AVRO", "JSON"])),
)


async def answer(body) -> int:
    """The HTTP status the registry gives ``body`` as a registration (200 if it is taken)."""
    log = MemorySchemaLog()
    service = RegistryService(log.store, log)
    try:
        await service.register("s", SchemaRequest.from_json(body))
        await service.test_compatibility("s", "latest", SchemaRequest.from_json(body), verbose=True)
        await service.lookup("s", SchemaRequest.from_json(body))
    except RegistryError as exc:
        return exc.http_status
    return 200


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_any_body_gets_a_4xx_or_is_registered(body):
    status = trio.run(answer, body)
    assert status == 200 or 400 <= status < 500, (status, body)
