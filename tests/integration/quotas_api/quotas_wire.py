"""Client quota requests as a real client writes them: kafka-python's message classes,
sent over a real TCP connection to a broker's client listener.

kafka-python 3 declares DescribeClientQuotas and AlterClientQuotas (its
encoder is independent of ours) but has no admin call for them, so these
helpers frame, send and read one request at a time themselves.
"""

from __future__ import annotations

import itertools
import struct

import trio
from kafka.protocol.admin import client_quotas as kp
from kafka.protocol.metadata.api_versions import ApiVersionsResponse

DESCRIBE = kp.DescribeClientQuotasRequest
ALTER = kp.AlterClientQuotasRequest
_correlation_ids = itertools.count(1)
_RESPONSES = {48: kp.DescribeClientQuotasResponse, 49: kp.AlterClientQuotasResponse, 18: ApiVersionsResponse}


async def send(port: int, request, version: int) -> dict:
    """Send one kafka-python request to 127.0.0.1:``port``; the response body as a dict."""
    correlation_id = next(_correlation_ids)
    request.with_header(correlation_id=correlation_id, client_id="quota-test")
    frame = request.encode(version=version, header=True, framed=True)
    response_class = _RESPONSES[request.API_KEY]
    with trio.fail_after(30):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(frame)
            (size,) = struct.unpack(">i", await _read_exactly(stream, 4))
            payload = await _read_exactly(stream, size)
    response = response_class.decode(payload, version=version, header=True)
    assert response.header.correlation_id == correlation_id
    return response.to_dict()


async def _read_exactly(stream, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = await stream.receive_some(count - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def alter_request(alterations, validate_only=False, version=1):
    """``alterations``: ``[(entity, {key: value or None to remove})]``, an entity as
    ``{entity_type: entity_name or None}``."""
    entry = ALTER.EntryData
    entries = [entry(entity=[entry.EntityData(entity_type=t, entity_name=n) for t, n in entity.items()],
                     ops=[entry.OpData(key=k, value=0.0 if v is None else float(v), remove=v is None)
                          for k, v in ops.items()])
               for entity, ops in alterations]
    return ALTER(entries=entries, validate_only=validate_only, version=version)


def describe_request(components=(), strict=False, version=1):
    """``components``: ``[(entity_type, match_type, match)]``."""
    data = [DESCRIBE.ComponentData(entity_type=t, match_type=m, match=s) for t, m, s in components]
    return DESCRIBE(components=data, strict=strict, version=version)


async def alter(port, alterations, validate_only=False, version=1) -> list[tuple[int, str | None]]:
    """``[(error_code, error_message)]`` per entry."""
    response = await send(port, alter_request(alterations, validate_only, version), version)
    return [(e["error_code"], e["error_message"]) for e in response["entries"]]


async def describe(port, components=(), strict=False, version=1) -> dict:
    """``{entity as a frozenset of (type, name): {key: value}}``; raises on a top-level error."""
    response = await send(port, describe_request(components, strict, version), version)
    assert response["error_code"] == 0, response
    return {frozenset((e["entity_type"], e["entity_name"]) for e in entry["entity"]):
            {v["key"]: v["value"] for v in entry["values"]}
            for entry in response["entries"]}


def entity(**names) -> frozenset:
    """``entity(user="alice", client_id=None)`` as :func:`describe` keys it."""
    return frozenset((t.replace("_", "-"), n) for t, n in names.items())
