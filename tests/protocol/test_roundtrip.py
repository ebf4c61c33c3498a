"""Hypothesis round-trip for every declared (message, version) pair.

For each message in ``messages.REQUESTS`` and ``messages.RESPONSES`` and each
of its valid versions: a value built from the declaration encodes, decodes
back to an equal value, and encodes again to the very same bytes.
"""

import functools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from minikafka.protocol import messages
from minikafka.protocol.codec import Struct, default_factory
from minikafka.protocol.schema import Field, Message

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
}


def _primitive(type_name: str):
    if type_name in _INT_RANGES:
        low, high = _INT_RANGES[type_name]
        return st.integers(low, high)
    return {
        "bool": st.booleans(),
        "float64": st.floats(allow_nan=False),
        "string": st.text(max_size=8),
        "bytes": st.binary(max_size=8),
        "records": st.binary(max_size=16),
        "uuid": st.binary(min_size=16, max_size=16),
    }[type_name]


def _on_wire(field: Field, version: int, flexible: bool) -> bool:
    if version not in field.versions:
        return False
    if field.is_tagged:
        return flexible and version in field.tagged_versions
    return True


def field_strategy(field: Field, version: int, flexible: bool):
    """Values of one field at one version (its default where it is absent)."""
    if not _on_wire(field, version, flexible):
        return st.builds(default_factory(field))
    if field.is_struct:
        element = struct_strategy(field.fields, version, flexible)
    else:
        element = _primitive(field.element_type)
    value = st.lists(element, max_size=2) if field.is_array else element
    if version in field.nullable:
        value = st.none() | value
    return value


def struct_strategy(fields, version: int, flexible: bool):
    """Structs with every declared field, valid for ``version``."""
    return st.fixed_dictionaries(
        {f.name: field_strategy(f, version, flexible) for f in fields}
    ).map(lambda values: Struct(**values))


@functools.lru_cache(maxsize=None)
def message_strategy(kind: str, api_key: int, version: int):
    message: Message = getattr(messages, kind)[api_key]
    return struct_strategy(message.fields, version, message.is_flexible(version))


def _pairs():
    for kind in ("REQUESTS", "RESPONSES"):
        for api_key, message in sorted(getattr(messages, kind).items()):
            versions = message.valid_versions
            for version in range(versions.lowest, versions.highest + 1):
                yield pytest.param(kind, api_key, version, id=f"{message.name}-v{version}")


@pytest.mark.parametrize("kind, api_key, version", list(_pairs()))
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_encode_decode_encode(kind, api_key, version, data):
    message = getattr(messages, kind)[api_key]
    value = data.draw(message_strategy(kind, api_key, version))
    raw = message.encode(value, version)
    decoded = message.decode(raw, version, strict=True)
    assert decoded == value
    assert message.encode(decoded, version) == raw


def test_every_api_has_both_sides():
    assert set(messages.REQUESTS) == set(messages.RESPONSES) == set(messages.API_NAMES)
    for api_key, message in messages.REQUESTS.items():
        assert message.valid_versions == messages.RESPONSES[api_key].valid_versions
