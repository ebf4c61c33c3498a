"""ListGroups (key 16): the groups this broker coordinates.

v4+ filter by state (``states_filter``, case-insensitive: "stable" matches
"Stable"), v5+ by type (``types_filter``: "classic" or "consumer", the
KIP-848 groups). A consumer group's committed offsets sit in a classic
*simple* group of the same id (``coordinator/runtime.py``); the list shows
the consumer group only.
While a ``__consumer_offsets`` partition is still loading its groups are
missing from the list, and the answer says so with
COORDINATOR_LOAD_IN_PROGRESS (the groups already loaded are still listed),
as Kafka does.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 16


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    coordinators, loading = services.group_coordinator.shards_for_listing()
    states = request.states_filter if ctx.api_version >= 4 else ()
    types = request.types_filter if ctx.api_version >= 5 else ()
    consumer_rows = []
    if not types or "consumer" in {t.lower() for t in types}:
        for consumer_groups in services.group_coordinator.consumer_groups_for_listing():
            consumer_rows += consumer_groups.list_groups(states or ())
    consumer_ids = {row["group_id"] for row in consumer_rows}
    for consumer_groups in services.group_coordinator.consumer_groups_for_listing():
        consumer_ids |= set(consumer_groups.groups)  # also those the state filter left out
    groups = list(consumer_rows)
    for coordinator in coordinators:
        groups += [row for row in coordinator.list_groups(states or (), types or ())["groups"]
                   if row["group_id"] not in consumer_ids]
    groups.sort(key=lambda group: group["group_id"])
    code = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if loading else ErrorCode.NONE
    return {"throttle_time_ms": 0, "error_code": code, "groups": groups}
