"""Client quotas through the Admin client: describe and alter them (KIP-546).

A quota applies to an *entity*: a user, a client id, both together, or an
IP address (connection quotas). The entity is a small map from entity type
(``user``, ``client-id``, ``ip``) to name, where the name ``None`` stands for
the *default* entity of that type (``<default>`` in kafka-configs.sh): the
quota of every user (or client id, or IP) that has none of its own. Each
entity carries numeric values by key: ``producer_byte_rate``,
``consumer_byte_rate``, ``request_percentage``, ``controller_mutation_rate``
(per user/client id), ``connection_creation_rate`` (per IP).

The shapes are those of Java's Admin (``org.apache.kafka.common.quota``):

- ``ClientQuotaEntity({"user": "alice", "client-id": None})``;
- ``ClientQuotaFilterComponent.of_entity(type, name)`` (that exact name),
  ``.of_default_entity(type)`` (the default entity) and
  ``.of_entity_type(type)`` (any entity naming that type);
  ``ClientQuotaFilter.contains(components)`` / ``.contains_only(...)`` /
  ``.all()``: *strict* (``contains_only``) leaves out entities that carry a
  type the filter does not name;
- ``ClientQuotaAlteration(entity, [ClientQuotaAlteration.Op(key, value)])``,
  where a value of ``None`` removes the key.

==========================  =======  =========================================
operation                   API key  notes
==========================  =======  =========================================
describe_client_quotas      48       DescribeClientQuotas, to any broker (it
                                     answers from its metadata image); one
                                     error for the whole filter
alter_client_quotas         49       AlterClientQuotas, to any broker (it
                                     forwards to the active controller); one
                                     error per entity
==========================  =======  =========================================

Errors come back as ``KafkaError`` with the broker's code and message
(``INVALID_REQUEST: ...``, ``UNSUPPORTED_VERSION``). An alteration of
several entities is not atomic: each entity succeeds or fails on its own,
and ``alter_client_quotas`` raises the first failure after the others have
been applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from minikafka.errors import ErrorCode, KafkaError

from .cluster import Cluster

DESCRIBE_CLIENT_QUOTAS, ALTER_CLIENT_QUOTAS = 48, 49
# DescribeClientQuotas' match types.
MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2


class ClientQuotaEntity:
    """The entity a quota applies to: ``{entity_type: name or None (default)}``.

    Immutable and hashable (a key of ``describe_client_quotas``' result).
    """

    USER = "user"
    CLIENT_ID = "client-id"
    IP = "ip"

    __slots__ = ("_items",)

    def __init__(self, entries: Mapping[str, str | None]):
        self._items = tuple(sorted(entries.items()))

    @property
    def entries(self) -> dict[str, str | None]:
        return dict(self._items)

    @staticmethod
    def is_valid_entity_type(entity_type: str) -> bool:
        return entity_type in (ClientQuotaEntity.USER, ClientQuotaEntity.CLIENT_ID,
                               ClientQuotaEntity.IP)

    def __eq__(self, other) -> bool:
        return isinstance(other, ClientQuotaEntity) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"ClientQuotaEntity({dict(self._items)!r})"


@dataclasses.dataclass(frozen=True)
class ClientQuotaFilterComponent:
    """One condition of a filter, on one entity type. Build it with the ``of_*`` methods."""

    entity_type: str
    match_type: int
    match: str | None = None

    @classmethod
    def of_entity(cls, entity_type: str, entity_name: str) -> "ClientQuotaFilterComponent":
        """Entities whose ``entity_type`` is exactly ``entity_name``."""
        return cls(entity_type, MATCH_EXACT, entity_name)

    @classmethod
    def of_default_entity(cls, entity_type: str) -> "ClientQuotaFilterComponent":
        """Entities whose ``entity_type`` is the default one."""
        return cls(entity_type, MATCH_DEFAULT)

    @classmethod
    def of_entity_type(cls, entity_type: str) -> "ClientQuotaFilterComponent":
        """Entities that name ``entity_type`` at all.

        Java documents "any specified name"; a KRaft broker (Kafka's
        ``ClientQuotasImage``, and minikafka) also counts the default entity.
        """
        return cls(entity_type, MATCH_SPECIFIED)


@dataclasses.dataclass(frozen=True)
class ClientQuotaFilter:
    """Which entities to describe: every component must match; ``strict``: nothing else."""

    components: tuple[ClientQuotaFilterComponent, ...] = ()
    strict: bool = False

    @classmethod
    def contains(cls, components: Iterable[ClientQuotaFilterComponent]) -> "ClientQuotaFilter":
        """Entities matching every component (they may carry other types too)."""
        return cls(tuple(components), False)

    @classmethod
    def contains_only(cls, components: Iterable[ClientQuotaFilterComponent]) -> "ClientQuotaFilter":
        """Entities matching every component and carrying no other type."""
        return cls(tuple(components), True)

    @classmethod
    def all(cls) -> "ClientQuotaFilter":
        """Every entity that has a quota."""
        return cls((), False)


@dataclasses.dataclass(frozen=True)
class ClientQuotaAlteration:
    """The changes to one entity's quotas."""

    @dataclasses.dataclass(frozen=True)
    class Op:
        """Set ``key`` to ``value``; ``value`` None removes the key."""

        key: str
        value: float | None

    entity: ClientQuotaEntity
    ops: tuple[Op, ...]

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(self.ops))  # a list is welcome too


def _entity_data(entity: ClientQuotaEntity) -> list[dict]:
    return [{"entity_type": t, "entity_name": n} for t, n in entity.entries.items()]


def _entity_of(entity_data) -> ClientQuotaEntity:
    return ClientQuotaEntity({e.entity_type: e.entity_name for e in entity_data})


async def describe_client_quotas(cluster: Cluster, quota_filter: ClientQuotaFilter
                                 ) -> dict[ClientQuotaEntity, dict[str, float]]:
    """The quotas of the entities ``quota_filter`` matches, ``{entity: {key: value}}``.

    Raises:
        KafkaError: the broker refused the filter (its code and message).
    """
    body = {"components": [{"entity_type": c.entity_type, "match_type": c.match_type,
                            "match": c.match} for c in quota_filter.components],
            "strict": quota_filter.strict}
    response = await cluster.request(await cluster.any_connection(), DESCRIBE_CLIENT_QUOTAS, body)
    if response.error_code != ErrorCode.NONE:
        raise KafkaError(ErrorCode(response.error_code), response.error_message)
    return {_entity_of(entry.entity): {v.key: v.value for v in entry.values}
            for entry in response.entries or ()}


async def alter_client_quotas(cluster: Cluster, alterations: Iterable[ClientQuotaAlteration], *,
                              validate_only: bool = False) -> None:
    """Set or remove quota values, entity by entity.

    Raises:
        KafkaError: the first entity the broker refused (its code and message);
            the other entities' changes were applied.
    """
    body = {"entries": [{"entity": _entity_data(a.entity),
                         "ops": [{"key": op.key, "value": 0.0 if op.value is None else float(op.value),
                                  "remove": op.value is None} for op in a.ops]}
                        for a in alterations],
            "validate_only": validate_only}
    response = await cluster.request(await cluster.any_connection(), ALTER_CLIENT_QUOTAS, body)
    for entry in response.entries:
        if entry.error_code != ErrorCode.NONE:
            raise KafkaError(ErrorCode(entry.error_code), entry.error_message)
