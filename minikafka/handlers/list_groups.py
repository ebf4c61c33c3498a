"""ListGroups (key 16): the groups this broker coordinates.

v4+ filter by state (``states_filter``, case-insensitive: "stable" matches
"Stable"), v5+ by type (``types_filter``: every group here is "classic").
While a ``__consumer_offsets`` partition is still loading its groups are
missing from the list, and the answer says so with
COORDINATOR_LOAD_IN_PROGRESS (the groups already loaded are still listed),
as Kafka does.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode

API_KEY = 16


async def handle(broker, request, ctx) -> dict:
    coordinators, loading = broker.group_coordinator.shards_for_listing()
    states = request.states_filter if ctx.api_version >= 4 else ()
    types = request.types_filter if ctx.api_version >= 5 else ()
    groups = []
    for coordinator in coordinators:
        groups += coordinator.list_groups(states or (), types or ())["groups"]
    groups.sort(key=lambda group: group["group_id"])
    code = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if loading else ErrorCode.NONE
    return {"throttle_time_ms": 0, "error_code": code, "groups": groups}
