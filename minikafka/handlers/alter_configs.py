"""AlterConfigs (API 33, v0-2): replace a resource's whole set of config overrides.

This is the old, non-incremental API: the request's configs *become* the
resource's overrides, and every override not listed is removed. Clients
that want to change one key without knowing the others should use
IncrementalAlterConfigs (KIP-339), which computes the new set and then
applies it with the same ``apply_overrides`` as here.

Resources: a TOPIC (its overrides), a BROKER named by this broker's id (its
dynamic per-broker configs) or ``""`` (the cluster-wide dynamic defaults), or
a CLIENT_METRICS subscription (KIP-714; any name, created by its first set).
``validate_only`` checks without changing anything. Each resource gets its
own result; all of one resource's changes apply, or none do.

After a change the open logs pick up their new ``LogConfig``: a topic's own
partitions for a topic override, every topic for a broker-level change
(a topic inherits the broker values it does not override).
"""

from __future__ import annotations

from minikafka.config import ResourceType, validate_client_metrics_configs, validate_topic_configs
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 33


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    responses = []
    for resource in request.resources:
        try:
            configs = {config.name: config.value for config in resource.configs}
            nulls = [name for name, value in configs.items() if value is None]
            if nulls:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {', '.join(nulls)}")
            await apply_overrides(services, resource.resource_type, resource.resource_name, configs, request.validate_only)
            responses.append(response_for(resource, ErrorCode.NONE, None))
        except KafkaError as exc:
            responses.append(response_for(resource, exc.code, exc.message))
    return {"throttle_time_ms": 0, "responses": responses}


def current_overrides(services: BrokerServices, resource_type: int, resource_name: str) -> dict[str, str]:
    """A resource's overrides as strings (raises ``KafkaError`` for a bad resource)."""
    if resource_type == ResourceType.TOPIC:
        return dict(services.metadata.require(resource_name).configs)
    if resource_type == ResourceType.BROKER:
        per_broker = services.config.broker_resource_scope(resource_name)
        return services.metadata.dynamic_broker_configs(per_broker)
    if resource_type == ResourceType.CLIENT_METRICS:
        return dict(services.metadata.image.configs.get((resource_type, resource_name), {}))
    raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource_type}")


async def apply_overrides(services: BrokerServices, resource_type: int, resource_name: str, overrides: dict[str, str],
                          validate_only: bool) -> None:
    """Make ``overrides`` the resource's complete set of overrides (validated here
    first, then written by the controller; the broker applies them from the image)."""
    if resource_type == ResourceType.TOPIC:
        services.metadata.require(resource_name)
        validate_topic_configs(overrides)
    elif resource_type == ResourceType.BROKER:
        services.config.broker_resource_scope(resource_name)
        services.config.validate_dynamic(overrides)
    elif resource_type == ResourceType.CLIENT_METRICS:
        validate_client_metrics_configs(resource_name, overrides)
    else:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource_type}")
    if not validate_only:
        await services.topic_admin.set_resource_configs(resource_type, resource_name, overrides)


def response_for(resource, code, message) -> dict:
    return {"error_code": code, "error_message": message,
            "resource_type": resource.resource_type, "resource_name": resource.resource_name}
