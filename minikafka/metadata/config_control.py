"""Dynamic configs on the controller: AlterConfigs and IncrementalAlterConfigs.

Kafka's ``ConfigurationControlManager``. Configs live in the metadata image
as strings, per resource: a topic (``resource_type`` 2, its name), a broker
(``resource_type`` 4, ``"<node.id>"``, or ``""`` for the cluster-wide
default) or a client-metrics subscription (``resource_type`` 16, any name;
KIP-714). A change is written as one ``ConfigRecord`` per key that changes;
a value of None deletes the key.

AlterConfigs (legacy) replaces a resource's whole set; IncrementalAlterConfigs
applies operations to the current set::

    0 SET       key = value
    1 DELETE    remove the key (back to the default)
    2 APPEND    add list items not present yet (list keys only)
    3 SUBTRACT  remove list items (list keys only)

Either way the *resulting* set is validated as a whole with the same checks a
single broker uses (``config.validate_topic_configs`` for topics,
``BrokerConfig.validate_dynamic`` for brokers,
``config.validate_client_metrics_configs`` for subscriptions), so a resource never holds a
value its brokers would refuse. One response per resource.
"""

from __future__ import annotations

from minikafka.config import (
    CLIENT_METRICS_KEYS_BY_NAME,
    TOPIC_KEYS_BY_NAME,
    BrokerConfig,
    ResourceType,
    validate_client_metrics_configs,
    validate_topic_configs,
)
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata import records as r
from minikafka.metadata.image import BROKER_RESOURCE, TOPIC_RESOURCE
from minikafka.metadata.result import ControllerResult, get_field

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def alter_configs(ctl, request) -> ControllerResult:
    """AlterConfigs: each resource's overrides become exactly the given ones."""
    def new_configs(resource, current):
        return {get_field(c, "name"): get_field(c, "value") for c in get_field(resource, "configs", ()) or ()
                if get_field(c, "value") is not None}
    return _alter(ctl, request, new_configs)


def incremental_alter_configs(ctl, request) -> ControllerResult:
    """IncrementalAlterConfigs: SET / DELETE / APPEND / SUBTRACT per key."""
    def new_configs(resource, current):
        configs = dict(current)
        for change in get_field(resource, "configs", ()) or ():
            _apply_operation(configs, get_field(change, "name"), get_field(change, "config_operation", SET),
                             get_field(change, "value"), get_field(resource, "resource_type"))
        return configs
    return _alter(ctl, request, new_configs)


def _apply_operation(configs: dict, name: str, operation: int, value, resource_type: int = 2) -> None:
    if operation == SET:
        configs[name] = value
    elif operation == DELETE:
        configs.pop(name, None)
    elif operation in (APPEND, SUBTRACT):
        keys = CLIENT_METRICS_KEYS_BY_NAME if resource_type == ResourceType.CLIENT_METRICS else TOPIC_KEYS_BY_NAME
        key = keys.get(name)
        if key is None or key.type != "list":
            verb = "append" if operation == APPEND else "subtract"
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Config value {verb} is not allowed for config key: {name}")
        items = [i for i in (configs.get(name) or "").split(",") if i]  # unset: start empty
        changes = [i.strip() for i in (value or "").split(",") if i.strip()]
        if operation == APPEND:
            items += [i for i in changes if i not in items]
        else:
            items = [i for i in items if i not in changes]
        configs[name] = ",".join(items)
    else:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown config operation {operation}")


def _alter(ctl, request, new_configs) -> ControllerResult:
    validate_only = bool(get_field(request, "validate_only", False))
    out: list = []
    responses = []
    for resource in get_field(request, "resources", ()) or ():
        resource_type, resource_name = get_field(resource, "resource_type"), get_field(resource, "resource_name")
        response = {"error_code": ErrorCode.NONE, "error_message": None, "resource_type": resource_type,
                    "resource_name": resource_name}
        try:
            current = ctl.image.configs.get((resource_type, resource_name), {})
            _check_resource(ctl, resource_type, resource_name)
            wanted = new_configs(resource, current)
            _validate(resource_type, resource_name, wanted)
            if not validate_only:
                _write_changes(ctl, out, resource_type, resource_name, current, wanted)
        except KafkaError as exc:
            response.update(error_code=exc.code, error_message=exc.message)
        responses.append(response)
    return ControllerResult(out, {"throttle_time_ms": 0, "responses": responses})


def _check_resource(ctl, resource_type: int, resource_name: str) -> None:
    if resource_type == TOPIC_RESOURCE:
        if ctl.image.topic(resource_name) is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{resource_name}' does not exist.")
    elif resource_type == BROKER_RESOURCE:
        if resource_name and not resource_name.isdigit():
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Invalid broker name {resource_name}")
    elif resource_type != ResourceType.CLIENT_METRICS:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type {resource_type}")


def _validate(resource_type: int, resource_name: str, configs: dict) -> None:
    if resource_type == TOPIC_RESOURCE:
        validate_topic_configs(configs)
    elif resource_type == ResourceType.CLIENT_METRICS:
        validate_client_metrics_configs(resource_name, configs)
    else:
        BrokerConfig.validate_dynamic(configs)


def _write_changes(ctl, out: list, resource_type: int, resource_name: str, current: dict, wanted: dict) -> None:
    current = dict(current)  # the image's dict changes under us as we emit
    for name in sorted(set(current) | set(wanted)):
        if current.get(name) != wanted.get(name):
            ctl.emit(out, r.ConfigRecord(resource_type, resource_name, name, wanted.get(name)))
