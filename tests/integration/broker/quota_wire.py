"""A bare wire client for the quota tests: it never honours a throttle hint.

Kafka's clients stop sending to a broker for ``throttle_time_ms`` after a
throttled response; this one sends whenever the test says, so what holds it
back is the broker's muted connection alone.
"""

from __future__ import annotations

import time

import trio

from minikafka.errors import ErrorCode
from minikafka.protocol import framing
from minikafka_core.records import Record, build_batch

PRODUCE, METADATA, API_VERSIONS, ALTER_CLIENT_QUOTAS = 0, 3, 18, 49


class WireClient:
    """One connection; ``client_id`` goes in every request header."""

    def __init__(self, stream: trio.SocketStream, client_id: str):
        self.stream = stream
        self.client_id = client_id
        self.reader = framing.FrameReader()
        self.next_correlation_id = 1

    @classmethod
    async def connect(cls, port: int, client_id: str = "wire-test") -> "WireClient":
        return cls(await trio.open_tcp_stream("127.0.0.1", port), client_id)

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def send(self, api_key: int, version: int, body) -> int:
        correlation_id = self.next_correlation_id
        self.next_correlation_id += 1
        await self.stream.send_all(framing.encode_request(api_key, version, correlation_id, self.client_id, body))
        return correlation_id

    async def receive_frame(self) -> bytes | None:
        """The next response frame; None once the broker closed the connection."""
        while (frame := self.reader.next_frame()) is None:
            try:
                data = await self.stream.receive_some(1 << 20)
            except trio.BrokenResourceError:  # reset by the broker
                return None
            if not data:
                return None
            self.reader.receive_data(data)
        return frame

    async def receive(self, api_key: int, version: int):
        frame = await self.receive_frame()
        assert frame is not None, "the broker closed the connection"
        return framing.read_response(frame, api_key, version)[1]

    async def request(self, api_key: int, version: int, body):
        await self.send(api_key, version, body)
        return await self.receive(api_key, version)


def produce_body(topic: str, value_size: int, acks: int = 1) -> dict:
    """One partition-0 batch of a single record of ``value_size`` bytes."""
    now_ms = int(time.time() * 1000)
    records = build_batch([Record(0, now_ms, b"k", b"x" * value_size)])
    return {"transactional_id": None, "acks": acks, "timeout_ms": 5000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": records}]}]}


def metadata_body() -> dict:
    return {"topics": [], "allow_auto_topic_creation": False,
            "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}


async def set_client_quota(port: int, entity: dict[str, str | None], key: str, value: float | None) -> None:
    """AlterClientQuotas on one entity (``{"client-id": "x"}``); None removes the key."""
    body = {"validate_only": False, "entries": [{
        "entity": [{"entity_type": t, "entity_name": n} for t, n in entity.items()],
        "ops": [{"key": key, "value": value or 0.0, "remove": value is None}],
    }]}
    client = await WireClient.connect(port, "quota-admin")
    try:
        response = await client.request(ALTER_CLIENT_QUOTAS, 1, body)
    finally:
        await client.aclose()
    [entry] = response.entries
    assert entry.error_code == ErrorCode.NONE, entry.error_message
