"""DescribeConfigs (API 32, v1-4): the configuration of topics and brokers.

For a TOPIC resource the answer is every topic key with its effective value
and where that value came from (``config_source``): the topic's own
override, a dynamic broker config, server.properties, or the default. With
``include_synonyms`` each entry also lists every place that could supply the
value, most important first (KIP-226) -- the clearest way to see why a
topic has the retention it has.

For a CLIENT_METRICS resource (a KIP-714 subscription) the answer is its
three keys, ``metrics``, ``interval.ms`` and ``match``, each set or default.

For a BROKER resource named by this broker's id the answer is every broker
key (read-only unless it can be changed at run time); ``""`` names the
cluster-wide dynamic defaults and lists only those that are set.

v3 (KIP-569) adds ``config_type`` and, on request, ``documentation``.
``configuration_keys`` (null = all) narrows the answer; names that do not
exist are left out. BROKER_LOGGER (log4j levels) is not supported here and
answers ``INVALID_REQUEST``.
"""

from __future__ import annotations

from minikafka.config import (
    BROKER_KEYS,
    CLIENT_METRICS_KEYS,
    ConfigEntry,
    ConfigSource,
    TOPIC_KEYS,
    ResourceType,
    format_value,
)
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.metadata.topics import validate_topic_name

API_KEY = 32


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    results = []
    for resource in request.resources:
        result = {"resource_type": resource.resource_type, "resource_name": resource.resource_name,
                  "error_code": ErrorCode.NONE, "error_message": None, "configs": []}
        try:
            entries = _entries(services, resource)
            result["configs"] = [_describe(entry, request) for entry in entries]
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return {"throttle_time_ms": 0, "results": results}


def _entries(services: BrokerServices, resource) -> list:
    """The ``ConfigEntry`` objects to describe for one resource."""
    wanted = resource.configuration_keys
    if resource.resource_type == ResourceType.TOPIC:
        validate_topic_name(resource.resource_name)
        overrides = services.metadata.typed_overrides(services.metadata.require(resource.resource_name).name)
        names = [key.name for key in TOPIC_KEYS]
        return [services.config.topic_entry(n, overrides) for n in names if wanted is None or n in wanted]
    if resource.resource_type == ResourceType.BROKER:
        per_broker = services.config.broker_resource_scope(resource.resource_name)
        if per_broker:
            names = [key.name for key in BROKER_KEYS] + sorted(services.config.unknown)
        else:
            names = sorted(services.config.dynamic_default)
        return [services.config.broker_entry(n, per_broker) for n in names if wanted is None or n in wanted]
    if resource.resource_type == ResourceType.CLIENT_METRICS:
        return _client_metrics_entries(services, resource.resource_name, wanted)
    raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {_type_name(resource.resource_type)}")


def _client_metrics_entries(services: BrokerServices, name: str, wanted) -> list[ConfigEntry]:
    """A client-metrics subscription's three keys: set ones, else their defaults (KIP-714)."""
    configs = services.metadata.image.configs.get((ResourceType.CLIENT_METRICS, name), {})
    entries = []
    for key in CLIENT_METRICS_KEYS:
        if wanted is not None and key.name not in wanted:
            continue
        if key.name in configs:
            value, source = configs[key.name], ConfigSource.DYNAMIC_CLIENT_METRICS_CONFIG
        else:
            value, source = key.default, ConfigSource.DEFAULT_CONFIG
        entries.append(ConfigEntry(key, value, source, [], read_only=False))
    return entries


def _describe(entry, request) -> dict:
    sensitive = entry.key.sensitive
    synonyms = []
    if request.include_synonyms:
        synonyms = [{"name": s.name, "value": None if sensitive else format_value(s.value), "source": int(s.source)}
                    for s in entry.synonyms]
    return {
        "name": entry.name,
        "value": None if sensitive else format_value(entry.value),
        "read_only": entry.read_only,
        "config_source": int(entry.source),
        "is_sensitive": sensitive,
        "synonyms": synonyms,
        "config_type": int(entry.key.config_type),
        "documentation": entry.key.doc if request.include_documentation else None,
    }


def _type_name(resource_type: int) -> str:
    try:
        return ResourceType(resource_type).name
    except ValueError:
        return str(resource_type)
