"""A bare protocol client for broker tests: frames in, frames out, nothing hidden.

Tests use it to send exactly the requests they mean (pipelined, garbage,
unknown versions) and to read the responses as ``Struct``s.
"""

from __future__ import annotations

import time

import trio

from minikafka.protocol import framing
from minikafka_core.records import Record, build_batch, read_batches


class RawClient:
    """One connection to a broker; ``client_id`` goes in every request header. Owned by one test task.

    It never honours a throttle hint (Kafka's clients wait ``throttle_time_ms``
    after a throttled response): it sends whenever the test says.
    """

    def __init__(self, stream: trio.abc.Stream, client_id: str = "raw-test"):
        self.stream = stream
        self.client_id = client_id
        self.reader = framing.FrameReader()
        self.next_correlation_id = 1

    @classmethod
    async def connect(cls, port: int, client_id: str = "raw-test") -> "RawClient":
        return cls(await trio.open_tcp_stream("127.0.0.1", port), client_id)

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def send(self, api_key: int, version: int, body) -> int:
        """Send one request; return its correlation id."""
        correlation_id = self.next_correlation_id
        self.next_correlation_id += 1
        await self.send_raw(framing.encode_request(api_key, version, correlation_id, self.client_id, body))
        return correlation_id

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def receive_frame(self) -> bytes | None:
        """The next response frame, or None if the broker closed (or reset) the connection."""
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
        """(correlation_id, body) of the next response."""
        frame = await self.receive_frame()
        assert frame is not None, "the broker closed the connection"
        return framing.read_response(frame, api_key, version)

    async def request(self, api_key: int, version: int, body):
        correlation_id = await self.send(api_key, version, body)
        received_id, response = await self.receive(api_key, version)
        assert received_id == correlation_id
        return response


def batch(values, *, key_prefix: bytes = b"k", producer_id=-1, producer_epoch=-1,
          base_sequence=-1, timestamp_ms=None) -> bytes:
    """A record batch of ``values`` with keys ``k0, k1, ...``."""
    now_ms = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    records = [Record(i, now_ms, key_prefix + str(i).encode(), value)
               for i, value in enumerate(values)]
    return build_batch(records, producer_id=producer_id, producer_epoch=producer_epoch,
                       base_sequence=base_sequence)


def values_of(records) -> list[bytes]:
    return [r.value for b in read_batches(bytes(records or b"")) for r in b.records]


def produce_body(topic: str, partition: int, records: bytes, acks: int = -1) -> dict:
    return {"transactional_id": None, "acks": acks, "timeout_ms": 5000,
            "topic_data": [{"name": topic,
                            "partition_data": [{"index": partition, "records": records}]}]}


def fetch_body(topic: str, partition: int, offset: int, *, max_wait_ms=0, min_bytes=1,
               topic_id=b"\0" * 16, partition_max_bytes=1 << 20) -> dict:
    return {"replica_id": -1, "max_wait_ms": max_wait_ms, "min_bytes": min_bytes,
            "max_bytes": 50 << 20, "isolation_level": 0, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "topic_id": topic_id,
                        "partitions": [{"partition": partition, "fetch_offset": offset,
                                        "partition_max_bytes": partition_max_bytes}]}],
            "forgotten_topics_data": []}
