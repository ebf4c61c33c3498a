"""Client quotas in the metadata log: AlterClientQuotas on the controller, and the filter
DescribeClientQuotas answers with (KIP-546).

Kafka's ``ClientQuotaControlManager`` (alter, validation) and
``ClientQuotasImage.describe`` (describe), sans-I/O. Client quotas are cluster
metadata: the active controller writes one ``ClientQuotaRecord`` per key that
changes, every broker replays it into ``MetadataImage.client_quotas`` and
feeds its quota managers from there.

A quota *entity* is written ``((entity_type, entity_name), ...)``, sorted by
type, with a name of None for the type's *default* entity::

    (("user", "alice"),)                        user alice
    (("client-id", None), ("user", "alice"))    alice, any client without its own quota
    (("ip", "10.0.0.1"),)                       connections from one address

Which entities and keys are allowed (Kafka's ``QuotaConfig``)::

    user, client-id, user+client-id   producer_byte_rate        long   (bytes/s)
                                      consumer_byte_rate        long   (bytes/s)
                                      request_percentage        double (% of one thread)
                                      controller_mutation_rate  double (partitions/s)
    ip                                connection_creation_rate  int    (connections/s)

An alteration is checked entity by entity, in Kafka's order: no key twice
and (for in-process callers; the wire carries doubles) numbers only, the entity
(known types, no type twice, no empty name), the combination of types (ip
alone; an ip name must be an address), then each value that is set: a key
of that entity, greater than 0, and for integral keys no fraction and not
beyond the type's range. An entity whose check fails writes nothing; the
others of the same request go ahead. Removing a key that is not set writes
nothing (and is not validated, as in Kafka). ``validate_only`` runs every
check and writes nothing.

Where minikafka differs from Kafka, on purpose:

- an ``ip`` name must be an IPv4/IPv6 literal: Kafka also accepts a host name
  it can resolve, but the controller is sans-I/O and does no DNS;
- NaN is refused like any value not greater than 0 (Kafka's ``<= 0`` test
  lets NaN through);
- an entity named twice in one request is refused as a whole (Kafka reports
  "Ignoring duplicate entity" but keeps the first alteration's records).
"""

from __future__ import annotations

import ipaddress

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata import records as r
from minikafka.metadata.image import quota_entity_order
from minikafka.metadata.result import ControllerResult, get_field

USER = "user"
CLIENT_ID = "client-id"
IP = "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
CONTROLLER_MUTATION_RATE = "controller_mutation_rate"
CONNECTION_CREATION_RATE = "connection_creation_rate"

LONG, INT, DOUBLE = "LONG", "INT", "DOUBLE"
USER_AND_CLIENT_KEYS = {PRODUCER_BYTE_RATE: LONG, CONSUMER_BYTE_RATE: LONG,
                        REQUEST_PERCENTAGE: DOUBLE, CONTROLLER_MUTATION_RATE: DOUBLE}
"""Kafka's ``QuotaConfig.userAndClientQuotaConfigs()``: key -> ConfigDef type."""
IP_KEYS = {CONNECTION_CREATION_RATE: INT}
"""Kafka's ``QuotaConfig.ipConfigs()``."""

_TYPE_MAX = {INT: 2**31 - 1, LONG: 2**63 - 1}
_ARTICLE = {INT: "an", LONG: "a"}

MATCH_TYPE_EXACT, MATCH_TYPE_DEFAULT, MATCH_TYPE_SPECIFIED = 0, 1, 2
"""DescribeClientQuotas filter match types (Kafka's ``ClientQuotaFilterComponent``)."""

QuotaEntity = tuple[tuple[str, str | None], ...]


def entity_string(entity: QuotaEntity | list) -> str:
    """An entity as Kafka's ``ClientQuotaEntity.toString`` prints it in error messages."""
    entries = ", ".join(f"{t}={'null' if n is None else n}" for t, n in entity)
    return f"ClientQuotaEntity(entries={{{entries}}})"


# --- AlterClientQuotas ---------------------------------------------------------------------


def alter_client_quotas(ctl, request) -> ControllerResult:
    """AlterClientQuotas: one ``ClientQuotaRecord`` per key that changes.

    Args:
        ctl: the ``QuorumController`` (its image and ``emit``).
        request: ``entries`` (``entity``: ``[{entity_type, entity_name}]``,
            ``ops``: ``[{key, value, remove}]``) and ``validate_only``.

    Returns:
        The records (none with ``validate_only``) and the response: one
        entry per request entry, the entity as the request wrote it.
    """
    validate_only = bool(get_field(request, "validate_only", False))
    entries = list(get_field(request, "entries", ()) or ())
    seen: dict = {}
    for entry in entries:
        key = _normalized(get_field(entry, "entity", ()) or ())
        seen[key] = seen.get(key, 0) + 1
    out: list = []
    responses = []
    for entry in entries:
        components = list(get_field(entry, "entity", ()) or ())
        pairs = [(get_field(c, "entity_type"), get_field(c, "entity_name")) for c in components]
        try:
            if seen[_normalized(components)] > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Ignoring duplicate entity {entity_string(pairs)}")
            records = alteration_records(ctl.image.client_quotas, pairs, _ops(entry, pairs))
            for record in records if not validate_only else ():
                ctl.emit(out, record)
            error = (ErrorCode.NONE, None)
        except KafkaError as exc:
            error = (exc.code, exc.message)
        responses.append({"error_code": error[0], "error_message": error[1],
                          "entity": [{"entity_type": t, "entity_name": n} for t, n in pairs]})
    return ControllerResult(out, {"throttle_time_ms": 0, "entries": responses})


def _normalized(components) -> tuple:
    return tuple(sorted((get_field(c, "entity_type"), get_field(c, "entity_name")) for c in components))


def _ops(entry, pairs) -> dict[str, float | None]:
    """``{key: value, or None to remove}``; a key twice is refused (Kafka's message)."""
    ops: dict[str, float | None] = {}
    for op in get_field(entry, "ops", ()) or ():
        key = get_field(op, "key")
        if key in ops:
            raise KafkaError(ErrorCode.INVALID_REQUEST,
                             f"Duplicate quota key {key} not updating quota for this entity "
                             f"{entity_string(pairs)}")
        ops[key] = None if get_field(op, "remove", False) else _number(key, get_field(op, "value", 0.0))
    return ops


def _number(key: str, value) -> float:
    """The value as a float; anything but a number is refused as Kafka's ``ConfigDef`` refuses it.

    On the wire a value is always a double; this guards in-process callers
    that pass a request as a dict.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        config_type = {**USER_AND_CLIENT_KEYS, **IP_KEYS}.get(key, DOUBLE)
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         f"Invalid value {value} for configuration {key}: Not a number of type {config_type}")
    return float(value)


def alteration_records(current_quotas: dict, pairs: list, ops: dict) -> list[r.ClientQuotaRecord]:
    """The records one entity's alteration writes (Kafka's ``alterClientQuotaEntity``).

    Args:
        current_quotas: the image's ``client_quotas``.
        pairs: the entity as ``[(entity_type, entity_name)]``, as requested.
        ops: ``{key: new value, or None to remove}``.

    Raises:
        KafkaError: INVALID_REQUEST with Kafka's message for a bad entity or value.
    """
    entity = validate_entity(pairs)
    valid_keys = config_keys_for_entity(entity)
    current = current_quotas.get(entity, {})
    records = []
    for key, value in ops.items():
        if value is None:
            if key in current:
                records.append(r.ClientQuotaRecord(entity, key, remove=True))
            continue
        validate_quota_value(valid_keys, key, value)
        if current.get(key) != value:  # only what changes is written
            records.append(r.ClientQuotaRecord(entity, key, value))
    return records


def validate_entity(pairs: list) -> QuotaEntity:
    """Known types, none twice, no empty name; the entity in its sorted form (Kafka's ``validateEntity``)."""
    if not pairs:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Invalid empty client quota entity")
    types: set[str] = set()
    for entity_type, entity_name in pairs:
        if entity_type in types:
            raise KafkaError(ErrorCode.INVALID_REQUEST,
                             f"Invalid client quota entity, duplicate entity entry {entity_type}")
        if entity_type not in ENTITY_TYPES:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unhandled client quota entity type: {entity_type}")
        if entity_name is not None and not entity_name:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Empty {entity_type} not supported")
        types.add(entity_type)
    return tuple(sorted(pairs))


def config_keys_for_entity(entity: QuotaEntity) -> dict[str, str]:
    """The keys (and their types) this combination of entity types may carry.

    Kafka's ``configKeysForEntityType``; the first message keeps Kafka's
    missing space ("shouldnot").
    """
    names = dict(entity)
    if IP in names:
        if USER in names or CLIENT_ID in names:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Invalid quota entity combination, IP entity should"
                                                        "not be combined with User or ClientId")
        if not _is_valid_ip_entity(names[IP]):
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"{names[IP]} is not a valid IP or resolvable host.")
        return IP_KEYS
    return USER_AND_CLIENT_KEYS


def _is_valid_ip_entity(name: str | None) -> bool:
    if name is None:
        return True  # the default ip entity
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def validate_quota_value(valid_keys: dict[str, str], key: str, value: float) -> None:
    """Kafka's ``validateQuotaKeyValue``: a known key, > 0, integral keys whole and in range."""
    config_type = valid_keys.get(key)
    if config_type is None:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Invalid configuration key {key}")
    if not value > 0.0:  # NaN too (see the module docstring)
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Quota {key} must be greater than 0")
    if config_type == DOUBLE:
        return
    if value > _TYPE_MAX[config_type]:
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         f"Proposed value for {key} is too large for {_ARTICLE[config_type]} {config_type}.")
    if abs(value % 1.0) > 1e-6:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"{key} cannot be a fractional value.")


# --- DescribeClientQuotas ------------------------------------------------------------------


def describe_client_quotas(client_quotas: dict, request) -> dict:
    """The DescribeClientQuotas response for an image's quotas (Kafka's ``ClientQuotasImage.describe``).

    Filter components: match type 0 names an exact entity name, 1 the
    default entity, 2 any entity that has the type. ``strict`` keeps only
    entities with exactly the filtered types. A bad filter is one error for
    the whole response, entries null (Kafka's ``getErrorResponse``).
    """
    try:
        exact, typed = _parse_filter(get_field(request, "components", ()) or ())
    except KafkaError as exc:
        return {"throttle_time_ms": 0, "error_code": exc.code, "error_message": exc.message, "entries": None}
    strict = bool(get_field(request, "strict", False))
    entries = []
    for entity in sorted(client_quotas, key=quota_entity_order):
        if _matches(dict(entity), exact, typed, strict):
            entries.append({
                "entity": [{"entity_type": t, "entity_name": n} for t, n in entity],
                "values": [{"key": k, "value": v} for k, v in sorted(client_quotas[entity].items())],
            })
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "entries": entries}


def _parse_filter(components) -> tuple[dict[str, str | None], set[str]]:
    """``(exact name per type, types that must be present)``, with Kafka's checks and messages."""
    exact: dict[str, str | None] = {}
    typed: set[str] = set()
    for component in components:
        entity_type, match_type = get_field(component, "entity_type"), get_field(component, "match_type")
        match = get_field(component, "match")
        if not entity_type:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.")
        if entity_type in exact or entity_type in typed:
            raise KafkaError(ErrorCode.INVALID_REQUEST,
                             f"Entity type {entity_type} cannot appear more than once in the filter.")
        if entity_type not in ENTITY_TYPES:
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, f"Unsupported entity type {entity_type}")
        if match_type == MATCH_TYPE_EXACT:
            if match is None:
                raise KafkaError(ErrorCode.INVALID_REQUEST,
                                 "Request specified MATCH_TYPE_EXACT, but set match string to null.")
            exact[entity_type] = match
        elif match_type == MATCH_TYPE_DEFAULT:
            if match is not None:
                raise KafkaError(ErrorCode.INVALID_REQUEST,
                                 "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.")
            exact[entity_type] = None
        elif match_type == MATCH_TYPE_SPECIFIED:
            if match is not None:
                raise KafkaError(ErrorCode.INVALID_REQUEST,
                                 "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.")
            typed.add(entity_type)
        else:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown match type {match_type}")
    named = set(exact) | typed
    if IP in named and (USER in named or CLIENT_ID in named):
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         "Invalid entity filter component combination. IP filter component should not be "
                         "used with user or clientId filter component.")
    return exact, typed


def _matches(entity: dict, exact: dict, typed: set, strict: bool) -> bool:
    if strict and len(entity) != len(exact) + len(typed):
        return False
    if any(t not in entity or entity[t] != name for t, name in exact.items()):
        return False
    return all(t in entity for t in typed)
