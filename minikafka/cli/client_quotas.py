"""Client quotas for the command-line tools: read, write and print them.

A quota *entity* names who a quota applies to: a user, a client id, both, or
an IP address; a name of None is that type's *default* entity (what
``--entity-default`` names). Here an entity is a tuple of ``(type, name)``
pairs sorted by type, e.g. ``(("client-id", "billing"), ("user", "alice"))``,
and its quotas a ``{key: float}`` dict. The bundled ``Admin`` does the work
(DescribeClientQuotas and AlterClientQuotas, KIP-546); this module only
translates between that API and what the tools print.

What a client is allowed ("which quota applies to this user and client
id?") is the broker's own answer: ``QuotaTable.effective_quota`` from
``minikafka.quotas``, Kafka's eight-level order, over the described quotas.

Values print as Java prints a ``double`` (``1048576.0``, ``1.0E7``), because
that is what ``kafka-configs.sh`` shows.
"""

from __future__ import annotations

import dataclasses
import decimal

from minikafka.quotas.entity import CLIENT_ID, IP, USER, QuotaEntity, normalize_entity

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


async def describe_quotas(admin, components: list[FilterComponent], *,
                          strict: bool) -> dict[QuotaEntity, dict[str, float]]:
    """The entities matching ``components`` and their quotas (``strict``: no other types)."""
    from minikafka_clients import ClientQuotaFilterComponent

    made = [_filter_component(ClientQuotaFilterComponent, c) for c in components]
    found = await admin.describe_client_quotas(made, strict=strict)
    return {normalize_entity(entity.entries.items()): dict(values) for entity, values in found.items()}


def _filter_component(cls, component: FilterComponent):
    if component.match == "exact":
        return cls.of_entity(component.entity_type, component.name)
    if component.match == "default":
        return cls.of_default_entity(component.entity_type)
    return cls.of_entity_type(component.entity_type)


async def alter_quotas(admin, entity: QuotaEntity, *, set_quotas: dict[str, float],
                       remove: list[str]) -> None:
    """Set and remove quota keys of one entity (one AlterClientQuotas entry)."""
    from minikafka_clients import ClientQuotaAlteration, ClientQuotaEntity

    ops = [ClientQuotaAlteration.Op(key, value) for key, value in set_quotas.items()]
    ops += [ClientQuotaAlteration.Op(key, None) for key in remove]
    await admin.alter_client_quotas([ClientQuotaAlteration(ClientQuotaEntity(dict(entity)), ops)])


def describe_entity(entity: QuotaEntity) -> str:
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
