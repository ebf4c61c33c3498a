"""Client quota entities and the table that resolves a client's quota (Kafka's DefaultQuotaCallback).

A quota is set on an *entity*: a user, a client id, a user and a client id
together, or an IP address; any of these names may be ``<default>`` (the
entity applies to everyone without a more specific one). The metadata log
carries them as ``ClientQuotaRecord``s; the broker's image hands the whole set
to ``QuotaTable.replace``.

An entity is a tuple of ``(entity_type, name)`` pairs sorted by type, the name
``None`` meaning ``<default>``::

    (("user", "alice"),)                          user alice
    (("client-id", None), ("user", "alice"))      user alice, default client id
    (("ip", None),)                               default IP

Precedence (Kafka's docs, "Quotas"): a connection of user ``u`` with client id
``c`` gets the first quota that exists, for the quota key asked, among

    1. user=u, client-id=c            5. user=<default>, client-id=<default>
    2. user=u, client-id=<default>    6. user=<default>
    3. user=u                         7. client-id=c
    4. user=<default>, client-id=c    8. client-id=<default>

and no quota at all if none exists.

Metric tags (which clients share one sensor): Kafka measures a quota on the
sensor named by the ``(user, client-id)`` tags its DefaultQuotaCallback picks.
When only one kind of entity carries this quota key, the tags are fixed:
client-id entities only: ``("", c)``; user entities only: ``(u, "")``;
user+client-id entities only: ``(u, c)``. When several kinds are mixed, the
tags follow the level that matched: levels 1, 2, 4, 5 give ``(u, c)``, levels 3
and 6 give ``(u, "")`` (all the clients of one user share the user's quota),
levels 7 and 8 and "no quota" give ``("", c)`` (all the users of one client id
share it). The kinds present are counted per quota key.

Where this differs from Kafka: Kafka computes the limit back from the tags, so a
client whose client id is the empty string escapes every quota that needs a
client id (even ``client-id=<default>``); here the limit is always the
precedence list's answer. Kafka also never forgets that a kind of entity
existed; here the kinds are recomputed from the current table.

``QuotaTable`` is owned by one broker (``BrokerQuotas``) and shared by its quota
managers, which subscribe to its changes. It is not task-safe.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

#: Entity types, as Kafka's ClientQuotaEntity names them.
USER = "user"
CLIENT_ID = "client-id"
IP = "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

#: Quota keys, as Kafka's QuotaConfig names them.
PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
CONTROLLER_MUTATION_RATE = "controller_mutation_rate"
CONNECTION_CREATION_RATE = "connection_creation_rate"

#: Which keys apply to which entities (Kafka's QuotaConfig user/client and IP config definitions).
CLIENT_QUOTA_KEYS = (PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE, CONTROLLER_MUTATION_RATE)
IP_QUOTA_KEYS = (CONNECTION_CREATION_RATE,)

#: How Kafka prints a default entity name.
DEFAULT_NAME = "<default>"

log = logging.getLogger(__name__)

QuotaEntity = tuple[tuple[str, "str | None"], ...]
QuotaEntries = Mapping[QuotaEntity, Mapping[str, float]]


def make_entity(**names: str | None) -> QuotaEntity:
    """Build an entity from keyword names: ``make_entity(user="alice", client_id=None)``.

    The keywords are ``user``, ``client_id`` and ``ip``; ``None`` means ``<default>``.
    """
    pairs = []
    for keyword, name in names.items():
        entity_type = keyword.replace("_", "-")
        if entity_type not in ENTITY_TYPES:
            raise ValueError(f"unknown quota entity type {keyword!r}")
        pairs.append((entity_type, name))
    return normalize_entity(pairs)


def normalize_entity(pairs: Iterable[tuple[str, str | None]]) -> QuotaEntity:
    """The canonical form of an entity: a tuple of ``(type, name)`` pairs sorted by type."""
    return tuple(sorted((str(entity_type), name) for entity_type, name in pairs))


def canonical_ip(host: str) -> str:
    """``host`` in the form a socket reports it, when it is an IP literal; else unchanged."""
    try:
        return str(ipaddress.ip_address(host.strip()))
    except ValueError:
        return host.strip()


class ResolvedQuota(NamedTuple):
    """The quota a client gets for one key: its limit (None: unlimited) and its sensor's tags."""

    limit: float | None
    metric_tags: tuple[str, str]


class _Absent:
    """Marks an entity without a user (or client id) part in the lookup keys."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()

# The kinds of client entities, as Kafka's QuotaTypes bits.
_CLIENT_ID_KIND = 1
_USER_KIND = 2
_USER_CLIENT_ID_KIND = 4

# Levels 1-8 of the precedence list: (user part, client part) as functions of (u, c),
# with the metric tags each level gives when kinds are mixed. True = the client's own name.
_OWN, _DEFAULT = True, None
_PRECEDENCE = (
    (_OWN, _OWN, "uc"),
    (_OWN, _DEFAULT, "uc"),
    (_OWN, ABSENT, "u"),
    (_DEFAULT, _OWN, "uc"),
    (_DEFAULT, _DEFAULT, "uc"),
    (_DEFAULT, ABSENT, "u"),
    (ABSENT, _OWN, "c"),
    (ABSENT, _DEFAULT, "c"),
)


def _lookup_part(part, own: str):
    return own if part is _OWN else part


class QuotaTable:
    """All client and IP quotas of the cluster, indexed per quota key.

    ``replace`` installs a new set (from the metadata image) and tells the
    subscribed managers; ``resolve`` answers Kafka's precedence question.
    """

    def __init__(self, entries: QuotaEntries | None = None):
        self._entries: dict[QuotaEntity, dict[str, float]] = {}
        # key -> {(user part, client part): limit}, parts are a name, None (<default>) or ABSENT.
        self._client_limits: dict[str, dict[tuple, float]] = {}
        # key -> {ip or None: limit}
        self._ip_limits: dict[str, dict[str | None, float]] = {}
        # key -> bit set of the entity kinds carrying it
        self._kinds: dict[str, int] = {}
        self._listeners: list[Callable[[], None]] = []
        self.version = 0
        if entries:
            self.replace(entries)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every ``replace`` (the quota managers re-read their limits)."""
        self._listeners.append(listener)

    def replace(self, entries: QuotaEntries) -> None:
        """Install a new set of quotas: ``{entity: {key: value}}`` (a missing key = no quota).

        An entity the controller should have refused (IP mixed with user or
        client id, an unknown or repeated type) is logged and skipped: the
        broker keeps enforcing the others.
        """
        new_entries: dict[QuotaEntity, dict[str, float]] = {}
        client_limits: dict[str, dict[tuple, float]] = {}
        ip_limits: dict[str, dict[str | None, float]] = {}
        kinds: dict[str, int] = {}
        for raw_entity, quotas in entries.items():
            entity = normalize_entity(raw_entity)
            values = {key: float(value) for key, value in quotas.items()}
            if not values:
                continue
            try:
                self._index(entity, values, client_limits, ip_limits, kinds)
            except ValueError as error:
                log.warning("ignoring the quotas of %r: %s", entity, error)
                continue
            new_entries[entity] = values
        self._entries = new_entries
        self._client_limits = client_limits
        self._ip_limits = ip_limits
        self._kinds = kinds
        self.version += 1
        for listener in self._listeners:
            listener()

    @staticmethod
    def _index(entity, values, client_limits, ip_limits, kinds) -> None:
        names = dict(entity)
        if len(names) != len(entity) or not names or set(names) - set(ENTITY_TYPES):
            raise ValueError("not a valid quota entity")
        if IP in names:
            if len(names) != 1:
                raise ValueError("an IP quota entity cannot be combined with user or client-id")
            ip = names[IP]
            for key, value in values.items():
                ip_limits.setdefault(key, {})[None if ip is None else canonical_ip(ip)] = value
            return
        user = names.get(USER, ABSENT)
        client_id = names.get(CLIENT_ID, ABSENT)
        if user is ABSENT:
            kind = _CLIENT_ID_KIND
        elif client_id is ABSENT:
            kind = _USER_KIND
        else:
            kind = _USER_CLIENT_ID_KIND
        for key, value in values.items():
            client_limits.setdefault(key, {})[(user, client_id)] = value
            kinds[key] = kinds.get(key, 0) | kind

    def entries(self) -> dict[QuotaEntity, dict[str, float]]:
        """A copy of every entity's quotas."""
        return {entity: dict(values) for entity, values in self._entries.items()}

    def has_key(self, key: str) -> bool:
        """Whether any client entity (user / client id) carries a quota for ``key``."""
        return key in self._client_limits

    def has_ip_key(self, key: str = CONNECTION_CREATION_RATE) -> bool:
        """Whether any IP entity carries a quota for ``key``."""
        return key in self._ip_limits

    def resolve(self, user: str, client_id: str, key: str) -> ResolvedQuota:
        """The quota of user ``user`` with client id ``client_id`` for ``key``.

        Returns:
            The first entity of the precedence list that carries ``key``
            (``limit`` None when there is none) and the metric tags of the
            sensor Kafka would measure it on.
        """
        limits = self._client_limits.get(key)
        if not limits:
            return ResolvedQuota(None, ("", client_id))
        limit, level_tags = None, "c"
        for user_part, client_part, tags in _PRECEDENCE:
            found = limits.get((_lookup_part(user_part, user), _lookup_part(client_part, client_id)))
            if found is not None:
                limit, level_tags = found, tags
                break
        kinds = self._kinds[key]
        if kinds == _CLIENT_ID_KIND:
            level_tags = "c"
        elif kinds == _USER_KIND:
            level_tags = "u"
        elif kinds == _USER_CLIENT_ID_KIND:
            level_tags = "uc"
        return ResolvedQuota(limit, _metric_tags(level_tags, user, client_id))

    def ip_limit(self, ip: str, key: str = CONNECTION_CREATION_RATE) -> float | None:
        """The IP quota for ``key``: the entry of ``ip``, else the default IP's, else None."""
        limits = self._ip_limits.get(key)
        if not limits:
            return None
        found = limits.get(ip)
        if found is None and ip is not None:
            found = limits.get(canonical_ip(ip))
        return limits.get(None) if found is None else found

    def ip_overrides(self, key: str = CONNECTION_CREATION_RATE) -> dict[str | None, float]:
        """Every IP entity's quota for ``key`` (None = the default IP)."""
        return dict(self._ip_limits.get(key, {}))


def _metric_tags(level_tags: str, user: str, client_id: str) -> tuple[str, str]:
    if level_tags == "uc":
        return (user, client_id)
    if level_tags == "u":
        return (user, "")
    return ("", client_id)
