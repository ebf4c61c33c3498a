"""Client quotas for the command-line tools: read, write, print and resolve them.

A quota *entity* names who a quota applies to: a user, a client id, both, or
an IP address; a name of None is that type's *default* entity (what
``--entity-default`` names). Here an entity is a tuple of ``(type, name)``
pairs sorted by type, e.g. ``(("client-id", "billing"), ("user", "alice"))``,
and its quotas a ``{key: float}`` dict. The bundled ``Admin`` does the work
(DescribeClientQuotas and AlterClientQuotas, KIP-546); this module only
translates between that API and what the tools print.

``effective_quota`` answers "what is this client allowed?" the way a broker
decides it (Kafka's default quota callback): the first entity in this order
that sets the key wins, from the most specific to the least::

    1. user + client-id          5. default user + default client-id
    2. user + default client-id  6. default user
    3. user                      7. client-id
    4. default user + client-id  8. default client-id

Values print as Java prints a ``double`` (``1048576.0``, ``1.0E7``), because
that is what ``kafka-configs.sh`` shows.
"""

from __future__ import annotations

import dataclasses
import decimal

USER, CLIENT_ID, IP = "user", "client-id", "ip"
PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE = "producer_byte_rate", "consumer_byte_rate"
REQUEST_PERCENTAGE, CONTROLLER_MUTATION_RATE = "request_percentage", "controller_mutation_rate"
CONNECTION_CREATION_RATE = "connection_creation_rate"
# The keys Kafka accepts per entity type (QuotaConfig; DynamicConfig.Ip).
CLIENT_QUOTA_KEYS = (PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE,
                     CONTROLLER_MUTATION_RATE)
IP_QUOTA_KEYS = (CONNECTION_CREATION_RATE,)

Entity = tuple[tuple[str, "str | None"], ...]

# How kafka-configs.sh names each entity type when it prints an entity.
_PRINTED_TYPE = {USER: "user-principal", CLIENT_ID: "client-id", IP: "ip"}


@dataclasses.dataclass(frozen=True)
class FilterComponent:
    """One part of a describe filter: a type and an exact name, the default, or any name.

    ``name`` is used only when ``match == "exact"``.
    """

    entity_type: str
    match: str  # "exact", "default" or "any"
    name: str | None = None


def make_entity(pairs) -> Entity:
    """``[("user", "alice"), ("client-id", None)]`` -> the sorted tuple form."""
    return tuple(sorted((entity_type, name) for entity_type, name in pairs))


async def describe_quotas(admin, components: list[FilterComponent], *,
                          strict: bool) -> dict[Entity, dict[str, float]]:
    """The entities matching ``components`` and their quotas (``strict``: no other types)."""
    from minikafka_clients import ClientQuotaFilterComponent

    made = [_filter_component(ClientQuotaFilterComponent, c) for c in components]
    found = await admin.describe_client_quotas(made, strict=strict)
    return {make_entity(entity.entries.items()): dict(values) for entity, values in found.items()}


def _filter_component(cls, component: FilterComponent):
    if component.match == "exact":
        return cls.of_entity(component.entity_type, component.name)
    if component.match == "default":
        return cls.of_default_entity(component.entity_type)
    return cls.of_entity_type(component.entity_type)


async def alter_quotas(admin, entity: Entity, *, set_quotas: dict[str, float],
                       remove: list[str]) -> None:
    """Set and remove quota keys of one entity (one AlterClientQuotas entry)."""
    from minikafka_clients import ClientQuotaAlteration, ClientQuotaEntity

    ops = [ClientQuotaAlteration.Op(key, value) for key, value in set_quotas.items()]
    ops += [ClientQuotaAlteration.Op(key, None) for key in remove]
    await admin.alter_client_quotas([ClientQuotaAlteration(ClientQuotaEntity(dict(entity)), ops)])


def describe_entity(entity: Entity) -> str:
    """``user-principal 'alice', client-id 'billing'`` or ``the default client-id``."""
    names = dict(entity)
    parts = []
    for entity_type in (USER, CLIENT_ID, IP):  # kafka-configs.sh's order, not sorted
        if entity_type in names:
            name = names[entity_type]
            printed = _PRINTED_TYPE[entity_type]
            parts.append(f"{printed} '{name}'" if name is not None else f"the default {printed}")
    return ", ".join(parts)


def java_double(value: float) -> str:
    """``Double.toString``: plain from 10^-3 to 10^7 (``1.5``, ``100.0``), else ``1.0E7``."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest form is Java's in this range
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = exponent + len(text) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def effective_quota(quotas: dict[Entity, dict[str, float]], user: str, client_id: str,
                    key: str) -> tuple[float, Entity] | None:
    """The limit a broker applies to ``(user, client_id)`` for ``key``, and the entity
    that sets it; None when no entity sets it (no limit)."""
    for entity in _precedence(user, client_id):
        value = quotas.get(entity, {}).get(key)
        if value is not None:
            return value, entity
    return None


def _precedence(user: str, client_id: str) -> list[Entity]:
    """The eight entities that can set a client's quota, most specific first."""
    return [
        make_entity([(USER, user), (CLIENT_ID, client_id)]),
        make_entity([(USER, user), (CLIENT_ID, None)]),
        make_entity([(USER, user)]),
        make_entity([(USER, None), (CLIENT_ID, client_id)]),
        make_entity([(USER, None), (CLIENT_ID, None)]),
        make_entity([(USER, None)]),
        make_entity([(CLIENT_ID, client_id)]),
        make_entity([(CLIENT_ID, None)]),
    ]
