"""A one-broker Kafka stand-in whose responses carry the throttle times a test chooses.

It speaks the real protocol over a real socket (``minikafka.protocol``), so
the bundled clients talk to it as to any broker, but it answers at once and
never mutes the connection: whatever a client does after a throttled
response is the client's own doing. Requests are logged with the Trio time
they arrived.

Answers: ApiVersions (every API, capped by ``max_versions``), Metadata (one
broker, itself; each topic asked about has one partition it leads),
Produce (success), Fetch (no records), CreateTopics (success).
"""

from __future__ import annotations

import collections

import trio

from minikafka.protocol import framing, messages
from minikafka.rpc.stream import receive_frame

PRODUCE, FETCH, METADATA, API_VERSIONS, CREATE_TOPICS = 0, 1, 3, 18, 19
TOPIC_ID = bytes(range(1, 17))


class ThrottlingBroker:
    """Serve with ``await nursery.start(broker.serve)``; then ``broker.bootstrap``.

    Attributes:
        throttles: per API key, the throttle times (ms) of its next responses,
            taken in order; 0 once the list is empty.
        received: ``(api_key, api_version, trio time)`` of every request.
    """

    def __init__(self, *, max_versions: dict[int, int] | None = None):
        self.max_versions = max_versions or {}
        self.throttles: dict[int, list[int]] = collections.defaultdict(list)
        self.received: list[tuple[int, int, float]] = []
        self.port = 0
        self._offsets = collections.Counter()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def arrivals(self, api_key: int) -> list[float]:
        """When each request of ``api_key`` arrived (Trio time, seconds)."""
        return [at for key, _, at in self.received if key == api_key]

    def versions(self, api_key: int) -> list[int]:
        return [version for key, version, _ in self.received if key == api_key]

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._connection, listeners)

    async def _connection(self, stream) -> None:
        reader = framing.FrameReader()
        async with stream:
            while (frame := await receive_frame(stream, reader)) is not None:
                header, offset = framing.read_request_header(frame)
                key, version = header.request_api_key, header.request_api_version
                self.received.append((key, version, trio.current_time()))
                body = messages.REQUESTS[key].decode(memoryview(frame)[offset:], version)
                response = getattr(self, f"_answer_{key}")(body)
                response["throttle_time_ms"] = self.throttles[key].pop(0) if self.throttles[key] else 0
                await stream.send_all(framing.encode_response(key, version, header.correlation_id,
                                                              response))

    def _answer_18(self, body) -> dict:  # ApiVersions
        keys = [{"api_key": key, "min_version": m.valid_versions.lowest,
                 "max_version": min(m.valid_versions.highest, self.max_versions.get(key, 99))}
                for key, m in sorted(messages.REQUESTS.items())]
        return {"error_code": 0, "api_keys": keys}

    def _answer_3(self, body) -> dict:  # Metadata
        names = [t.name for t in body.topics or ()]
        partition = {"error_code": 0, "partition_index": 0, "leader_id": 1, "leader_epoch": 0,
                     "replica_nodes": [1], "isr_nodes": [1], "offline_replicas": []}
        return {"brokers": [{"node_id": 1, "host": "127.0.0.1", "port": self.port, "rack": None}],
                "cluster_id": "throttling", "controller_id": 1,
                "topics": [{"error_code": 0, "name": name, "topic_id": TOPIC_ID,
                            "is_internal": False, "partitions": [partition]} for name in names]}

    def _answer_0(self, body) -> dict:  # Produce
        responses = []
        for topic in body.topic_data:
            partitions = []
            for p in topic.partition_data:
                partitions.append({"index": p.index, "error_code": 0,
                                   "base_offset": self._offsets[(topic.name, p.index)],
                                   "log_append_time_ms": -1, "log_start_offset": 0})
                self._offsets[(topic.name, p.index)] += 1
            responses.append({"name": topic.name, "partition_responses": partitions})
        return {"responses": responses}

    def _answer_1(self, body) -> dict:  # Fetch: nothing new
        return {"error_code": 0, "session_id": 0, "responses": [
            {"topic": t.topic, "topic_id": t.topic_id, "partitions": [
                {"partition_index": p.partition, "error_code": 0, "high_watermark": 0,
                 "last_stable_offset": 0, "log_start_offset": 0, "aborted_transactions": None,
                 "preferred_read_replica": -1, "records": None} for p in t.partitions]}
            for t in body.topics]}

    def _answer_19(self, body) -> dict:  # CreateTopics
        return {"topics": [{"name": t.name, "topic_id": TOPIC_ID, "error_code": 0,
                            "error_message": None, "num_partitions": 1, "replication_factor": 1,
                            "configs": []} for t in body.topics]}
