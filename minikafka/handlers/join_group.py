"""JoinGroup (key 11): join a classic group, or rejoin it for a rebalance.

The request usually *parks*: the coordinator answers every member at once
when the join phase ends (everyone rejoined, or the rebalance timeout). The
handler simply awaits the runtime, which returns once the response is
delivered; meanwhile this connection answers nothing else, as in Kafka
(whose network layer mutes a channel while a request is in flight).

``client_host`` is recorded as Kafka writes it (``InetAddress.toString()``:
``"/127.0.0.1"``), which is what DescribeGroups and kafka-consumer-groups show.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError

API_KEY = 11


async def handle(broker, request, ctx) -> dict:
    version = ctx.api_version

    def join(coordinator, now_ms):
        return coordinator.join_group(request, now_ms, version=version,
                                      client_id=ctx.client_id or "",
                                      client_host=client_host(ctx.peer))

    try:
        response = await broker.group_coordinator.execute(request.group_id, join)
    except KafkaError as exc:
        response = error_response(exc.code, request.member_id, version)
    return {"throttle_time_ms": 0, **response}


def client_host(peer: str) -> str:
    """``"127.0.0.1:5555"`` (or ``"[::1]:5555"``) -> ``"/127.0.0.1"``, Kafka's spelling."""
    host = peer.rsplit(":", 1)[0].strip("[]")
    return f"/{host}"


def error_response(code: ErrorCode, member_id: str, version: int) -> dict:
    # Before v7 the protocol name is not nullable: Kafka sends "" instead.
    return {"error_code": code, "generation_id": -1, "protocol_type": None,
            "protocol_name": None if version >= 7 else "", "leader": "",
            "skip_assignment": False, "member_id": member_id, "members": []}
