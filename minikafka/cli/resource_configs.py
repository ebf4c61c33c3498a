"""Topic and broker configs for ``minikafka configs``: DescribeConfigs and IncrementalAlterConfigs.

Kafka names what a config belongs to with a ``ConfigResource``: a type
(2 topic, 4 broker) and a name (a topic, a broker id, or ``""`` for the
cluster-wide broker defaults). The bundled ``Admin``'s config calls take a
topic name only and leave synonyms out, so this module sends the two
requests itself over the ``Admin``'s ``cluster``, with the same error
handling: a resource's ``error_code`` becomes ``KafkaError`` carrying the
broker's message.

Where each request goes, as in Java's ``Admin``: a broker resource named by
an id goes to that broker (it describes its own live configs); everything
else to any broker, which forwards alterations to the controller (KIP-590).
"""

from __future__ import annotations

import dataclasses

from minikafka.errors import ErrorCode, KafkaError

DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 44
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
SET, DELETE = 0, 1  # AlterConfigOp (KIP-339)


@dataclasses.dataclass(frozen=True)
class Synonym:
    """One place a value could come from, most important first (KIP-226)."""

    name: str
    value: str | None
    source: int


@dataclasses.dataclass(frozen=True)
class ResourceConfig:
    """One config of a resource as DescribeConfigs (with synonyms) reports it."""

    name: str
    value: str | None
    source: int
    is_sensitive: bool
    read_only: bool
    synonyms: tuple[Synonym, ...]


async def describe_resource(admin, resource_type: int, name: str) -> list[ResourceConfig]:
    """Every config of one resource, with synonyms."""
    body = {"resources": [{"resource_type": resource_type, "resource_name": name,
                           "configuration_keys": None}],
            "include_synonyms": True, "include_documentation": False}
    response = await admin.cluster.retry(
        lambda: _request(admin.cluster, resource_type, name, DESCRIBE_CONFIGS, body))
    configs = []
    for result in response.results:
        _check(result)
        configs += [ResourceConfig(c.name, c.value, c.config_source, bool(c.is_sensitive),
                                   bool(c.read_only),
                                   tuple(Synonym(s.name, s.value, s.source) for s in c.synonyms))
                    for c in result.configs]
    return configs


async def alter_resource(admin, resource_type: int, name: str, *, set_configs: dict[str, str],
                         delete_configs: list[str]) -> None:
    """IncrementalAlterConfigs: SET each of ``set_configs``, DELETE each of ``delete_configs``."""
    ops = [{"name": k, "config_operation": SET, "value": v} for k, v in set_configs.items()]
    ops += [{"name": k, "config_operation": DELETE, "value": None} for k in delete_configs]
    body = {"resources": [{"resource_type": resource_type, "resource_name": name,
                           "configs": ops}], "validate_only": False}
    response = await admin.cluster.retry(
        lambda: _request(admin.cluster, resource_type, name, INCREMENTAL_ALTER_CONFIGS, body))
    for result in response.responses:
        _check(result)


async def _request(cluster, resource_type: int, name: str, api_key: int, body: dict):
    connection = None  # any broker
    if resource_type == BROKER_RESOURCE and name and api_key == DESCRIBE_CONFIGS:
        connection = await cluster.connection_to(int(name))
    return await cluster.request(connection, api_key, body)


def _check(result) -> None:
    if result.error_code != ErrorCode.NONE:
        code = ErrorCode(result.error_code)
        raise KafkaError(code, result.error_message or "")
