"""IncrementalAlterConfigs (API 44, v0-1): change some config keys, keep the rest (KIP-339).

Each config in the request carries an operation:

    SET (0)       key = value
    DELETE (1)    remove the override, so the inherited value shows again
    APPEND (2)    add values to a LIST key (``cleanup.policy``), skipping ones present
    SUBTRACT (3)  remove values from a LIST key

APPEND and SUBTRACT start from the override if there is one, else from the
key's default (as Kafka's controller does). The handler computes the new set
of overrides for the resource and hands it to
``alter_configs.apply_overrides``, which validates it as a whole: one bad
key fails the resource and changes nothing.

Resources: TOPIC, BROKER named by this broker's id (per-broker dynamic
configs) or ``""`` (cluster-wide dynamic defaults), or CLIENT_METRICS (a
KIP-714 subscription: ``metrics``, ``interval.ms``, ``match``). ``validate_only`` checks
without changing anything.
"""

from __future__ import annotations

import collections
import enum

from minikafka.config import (
    BROKER_KEYS_BY_NAME,
    CLIENT_METRICS_KEYS_BY_NAME,
    TOPIC_KEYS_BY_NAME,
    ResourceType,
    format_value,
)
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.alter_configs import apply_overrides, current_overrides, response_for
from minikafka.handlers.services import BrokerServices

API_KEY = 44


class OpType(enum.IntEnum):
    """Kafka's ``AlterConfigOp.OpType``."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    responses = []
    for resource in request.resources:
        try:
            overrides = current_overrides(services, resource.resource_type, resource.resource_name)
            _apply_ops(overrides, resource)
            await apply_overrides(services, resource.resource_type, resource.resource_name, overrides,
                            request.validate_only)
            responses.append(response_for(resource, ErrorCode.NONE, None))
        except KafkaError as exc:
            responses.append(response_for(resource, exc.code, exc.message))
    return {"throttle_time_ms": 0, "responses": responses}


def _apply_ops(overrides: dict[str, str], resource) -> None:
    """Apply the resource's operations, in order, to ``overrides`` (strings)."""
    counts = collections.Counter(config.name for config in resource.configs)
    if any(n > 1 for n in counts.values()):
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")
    for config in resource.configs:
        try:
            op = OpType(config.config_operation)
        except ValueError:
            raise KafkaError(ErrorCode.INVALID_REQUEST,
                             f"Unknown alter config operation type {config.config_operation}") from None
        if op != OpType.DELETE and config.value is None:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {config.name}")
        if op == OpType.SET:
            overrides[config.name] = config.value
        elif op == OpType.DELETE:
            overrides.pop(config.name, None)
        else:
            overrides[config.name] = _edit_list(overrides, resource.resource_type, config, op)


def _edit_list(overrides: dict[str, str], resource_type: int, config, op: OpType) -> str:
    """The new value of a LIST key after APPEND or SUBTRACT."""
    keys = {ResourceType.TOPIC: TOPIC_KEYS_BY_NAME,
            ResourceType.CLIENT_METRICS: CLIENT_METRICS_KEYS_BY_NAME}.get(resource_type, BROKER_KEYS_BY_NAME)
    key = keys.get(config.name)
    if key is None or key.type != "list":
        verb = "append" if op == OpType.APPEND else "subtract"
        raise KafkaError(ErrorCode.INVALID_CONFIG,
                         f"Config value {verb} is not allowed for config key: {config.name}")
    if config.name in overrides:
        current = [v.strip() for v in overrides[config.name].split(",") if v.strip()]
    else:
        default = key.default if key.synonym is None else BROKER_KEYS_BY_NAME[key.synonym].default
        if resource_type == ResourceType.CLIENT_METRICS:
            default = []  # a subscription starts with no metrics
        current = list(default or [])
    values = [v.strip() for v in (config.value or "").split(",") if v.strip()]
    if op == OpType.APPEND:
        current += [v for v in values if v not in current]
    else:
        current = [v for v in current if v not in values]
    return format_value(current)
