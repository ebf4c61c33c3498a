"""Request handlers: one module per API (or per small family of APIs).

Each handler module defines:

``API_KEY``
    the Kafka API key it answers (``0`` for Produce).

``async def handle(services, request, ctx) -> dict | None``
    ``services`` is the broker's ``BrokerServices`` (``services.py``): the
    few typed services a handler may use, never the broker itself;
    ``request`` is the decoded request body (a ``Struct``: attribute access by
    Kafka's field names in snake_case); ``ctx`` is the ``RequestContext`` below.
    It returns the response body as a plain ``dict`` (nested dicts and lists
    for structs and arrays; fields left out take their declared default), or
    ``None`` when no response is sent (Produce with ``acks=0``). The server
    encodes it at ``ctx.api_version``.

A handler never lets an exception escape for a client's mistake: it answers
with Kafka's error code in the right place (per partition, per topic, or at the
top). ``KafkaError`` raised by the core carries that code.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minikafka.handlers.services import Handler

# The modules below are loaded in this order; each contributes one API.
HANDLER_MODULES = (
    "api_versions",
    "metadata",
    "produce",
    "fetch",
    "list_offsets",
    "init_producer_id",
    "create_topics",
    "delete_topics",
    "create_partitions",
    "describe_configs",
    "alter_configs",
    "incremental_alter_configs",
    "describe_client_quotas",
    "alter_client_quotas",
    "delete_records",
    "describe_cluster",
    "describe_log_dirs",
    "find_coordinator",
    "join_group",
    "sync_group",
    "heartbeat",
    "leave_group",
    "offset_commit",
    "offset_fetch",
    "offset_delete",
    "list_groups",
    "describe_groups",
    "delete_groups",
    "consumer_group_heartbeat",
    "consumer_group_describe",
    "vote",
    "begin_quorum_epoch",
    "end_quorum_epoch",
    "fetch_snapshot",
    "broker_registration",
    "broker_heartbeat",
    "offset_for_leader_epoch",
    "alter_partition",
    "elect_leaders",
    "alter_partition_reassignments",
    "list_partition_reassignments",
    "allocate_producer_ids",
    "add_partitions_to_txn",
    "add_offsets_to_txn",
    "end_txn",
    "describe_transactions",
    "list_transactions",
    "write_txn_markers",
    "describe_producers",
    "txn_offset_commit",
)


@dataclasses.dataclass
class RequestContext:
    """What a handler knows about the request besides its body.

    Owned by the connection that received the request; not shared between tasks.
    """

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    peer: str  # "host:port" of the client
    # The server's per-connection state: ApiVersions records the client's
    # software name and version on it, Fetch reads ``zero_copy`` from it.
    connection: Any
    # Without authentication every connection is ``User:ANONYMOUS``; the quota
    # "user" is the part after the colon (Kafka's ``principal.getName``).
    principal: str = "User:ANONYMOUS"
    # A bandwidth throttle (ms) a handler sets after recording bytes in the
    # produce or fetch quota; the server folds it into the response's
    # ``throttle_time_ms`` with the request-time throttle (KIP-219).
    throttle_time_ms: int = 0
    # The size of the request frame in bytes (what Kafka's produce quota records).
    request_size: int = 0

    @property
    def quota_user(self) -> str:
        """The principal's name, the ``user`` of client quotas."""
        return self.principal.partition(":")[2]

    @property
    def quota_client_id(self) -> str:
        """The client id of client quotas (``""`` when the header has none)."""
        return self.client_id or ""


def load_handlers() -> dict[int, Handler]:
    """Return ``{api_key: handle}`` for every module in ``HANDLER_MODULES``."""
    handlers = {}
    for name in HANDLER_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        handlers[module.API_KEY] = module.handle
    return handlers
