"""Which subjects a schema id is registered under: the broker's questions to the schema registry.

A partition leader that validates records (``confluent.value.schema.validation``,
``confluent.key.schema.validation``) reads a schema id from each record and
must know whether the registry at ``confluent.schema.registry.url`` has that
id registered under the record's subject. This module asks, over HTTP, with
Confluent's REST API:

    GET /schemas/ids/{id}/versions   ->  200 [{"subject": "orders-value", "version": 1}, ...]
                                          404 {"error_code": 40403, ...}  (no such schema)
    GET /schemas/ids/{id}            ->  200 {"schema": "...", "schemaType": "AVRO", ...}
                                          (only for the record-name strategies: the subject
                                          is then named after the schema's record)

Theory of operation:

- **A cache of confirmed pairs.** Every ``(id, subject)`` the registry has
  confirmed is kept (least recently used first out, at most
  :data:`MAX_CACHED_PAIRS`), so a steady stream of records costs no HTTP at
  all: a registered id never changes its schema, and a producer reuses a few
  ids for millions of records. It also lets records with an id confirmed
  before a registry outage through during it. A confirmation is not revoked
  if the subject is deleted later (as in the serializers' own caches); a
  broker restart forgets them.
- **No negative cache.** An id the registry does not know (yet) is asked
  again next time: a schema registered a moment ago must be accepted at once,
  and a producer that sends an unknown id gets a non-retriable error, so it
  does not come back in a loop.
- **The registry down is an error, never a pass.** A connection refused, a
  timeout (:data:`REQUEST_TIMEOUT_S`) or a 5xx answer from every URL raises
  :class:`SchemaRegistryUnavailable`; the produce handler then refuses the
  batch (see ``handlers/schema_validation.py`` for the error code and why).
- Several URLs (a comma-separated list, as Confluent accepts) are tried in
  order until one answers.

``SchemaIdLookup`` belongs to one broker and runs in its Trio loop; httpx's
``AsyncClient`` runs on Trio through anyio and keeps its connections to the
registry open between lookups. Not task-safe beyond that: two lookups of the
same id at once both ask the registry, which is harmless.
"""

from __future__ import annotations

import collections
import logging
import urllib.parse

import httpx

from minikafka.handlers.services import SchemaRegistryUnavailable

REQUEST_TIMEOUT_S = 10.0  # below the producer's request.timeout.ms (30 s), so the producer hears why
MAX_CACHED_PAIRS = 10_000
ACCEPT = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
SCHEMA_NOT_FOUND = 40403  # Confluent's error code: no schema with this id

log = logging.getLogger("minikafka.server.schema_ids")


class SchemaIdLookup:
    """The broker's schema registry client: is this schema id registered under that subject?

    Implements ``handlers.services.SchemaIds``.

    Args:
        urls: ``confluent.schema.registry.url``, one or more base URLs.
        timeout_s: the longest wait for one HTTP exchange.
        transport: an httpx transport (tests may pass one; default: the network).
    """

    def __init__(self, urls: list[str], *, timeout_s: float = REQUEST_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None):
        if not urls:
            raise ValueError("a schema id lookup needs at least one registry URL")
        self.urls = [url.rstrip("/") for url in urls]
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport, headers={"Accept": ACCEPT})
        self._confirmed: collections.OrderedDict[tuple[int, str], None] = collections.OrderedDict()

    async def is_registered(self, schema_id: int, subject: str) -> bool:
        """True if the registry has schema ``schema_id`` registered under ``subject``.

        Raises:
            SchemaRegistryUnavailable: no registry URL answered.
        """
        pair = (schema_id, subject)
        if pair in self._confirmed:
            self._confirmed.move_to_end(pair)
            return True
        versions = await self._get_json(f"/schemas/ids/{schema_id}/versions")
        if not isinstance(versions, list):  # 404 (None), or a registry answering something odd
            versions = []
        subjects = {entry.get("subject") for entry in versions if isinstance(entry, dict)}
        for registered in subjects:
            if isinstance(registered, str):
                self._remember((schema_id, registered))
        return subject in subjects

    async def schema(self, schema_id: int) -> dict | None:
        """The registry's ``{"schema": ..., "schemaType": ...}`` for ``schema_id``, None if unknown.

        Raises:
            SchemaRegistryUnavailable: no registry URL answered.
        """
        return await self._get_json(f"/schemas/ids/{schema_id}")

    def cached_pairs(self) -> int:
        """How many confirmed ``(id, subject)`` pairs are cached."""
        return len(self._confirmed)

    async def aclose(self) -> None:
        """Close the connections to the registry."""
        await self._client.aclose()

    def _remember(self, pair: tuple[int, str]) -> None:
        self._confirmed[pair] = None
        self._confirmed.move_to_end(pair)
        while len(self._confirmed) > MAX_CACHED_PAIRS:
            self._confirmed.popitem(last=False)

    async def _get_json(self, path: str):
        """GET ``path`` from the first URL that answers; the JSON body, or None on a 404.

        Raises:
            SchemaRegistryUnavailable: every URL failed (network error,
                timeout, 5xx, or an answer that is not JSON).
        """
        problems = []
        for base in self.urls:
            try:
                response = await self._client.get(base + path)
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    problems.append(f"{redact(base)}: HTTP {response.status_code} {_error_message(response)}")
                    continue
                return response.json()
            except httpx.TimeoutException:
                problems.append(f"{redact(base)}: no answer within {self._client.timeout.read} s")
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                problems.append(f"{redact(base)}: {type(exc).__name__} {exc}".rstrip())
        log.warning("schema registry lookup %s failed: %s", path, "; ".join(problems))
        raise SchemaRegistryUnavailable("; ".join(problems))


def _error_message(response: httpx.Response) -> str:
    """The ``message`` of a registry's error body, if it has one."""
    try:
        return str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return ""


def redact(url: str) -> str:
    """``url`` without any ``user:password@`` part (for messages sent to clients)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL at all (a broken IPv6 host): keep only what follows any '@'
        return url.rpartition("@")[2]
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
