"""Wire helpers for the quota tests, over the bare ``RawClient`` of the broker tests.

Kafka's clients stop sending to a broker for ``throttle_time_ms`` after a
throttled response; ``RawClient`` sends whenever the test says, so what
holds it back is the broker's muted connection alone.
"""

from __future__ import annotations

import time

from minikafka.errors import ErrorCode
from minikafka_core.records import Record, build_batch
from tests.broker.broker_rawclient import RawClient
from tests.broker.broker_rawclient import produce_body as partition_produce_body

PRODUCE, METADATA, API_VERSIONS, ALTER_CLIENT_QUOTAS = 0, 3, 18, 49


def produce_body(topic: str, value_size: int, acks: int = 1) -> dict:
    """One partition-0 batch of a single record of ``value_size`` bytes."""
    now_ms = int(time.time() * 1000)
    return partition_produce_body(topic, 0, build_batch([Record(0, now_ms, b"k", b"x" * value_size)]), acks)


def metadata_body() -> dict:
    return {"topics": [], "allow_auto_topic_creation": False,
            "include_cluster_authorized_operations": False, "include_topic_authorized_operations": False}


async def set_client_quota(port: int, entity: dict[str, str | None], key: str, value: float | None) -> None:
    """AlterClientQuotas on one entity (``{"client-id": "x"}``); None removes the key."""
    body = {"validate_only": False, "entries": [{
        "entity": [{"entity_type": t, "entity_name": n} for t, n in entity.items()],
        "ops": [{"key": key, "value": value or 0.0, "remove": value is None}],
    }]}
    client = await RawClient.connect(port, "quota-admin")
    try:
        response = await client.request(ALTER_CLIENT_QUOTAS, 1, body)
    finally:
        await client.aclose()
    [entry] = response.entries
    assert entry.error_code == ErrorCode.NONE, entry.error_message
