"""Forwarding a write from a follower instance to the registry leader.

Any instance answers reads from its own copy of the store; only the leader
writes to ``_schemas``. A follower that receives a write (register a
schema, set a config or mode, delete) sends the same request to the
leader's URL, as Confluent's ``RestService`` forwarding does, and returns
the leader's answer unchanged: status, body and content type. The client
cannot tell which instance did the work.

Confluent's errors when that is impossible:

=====  =====  ==========================================================
HTTP   code   when
=====  =====  ==========================================================
500    50004  no leader is known (an election is under way, or no
              instance is ``leader.eligibility=true``)
500    50003  the leader could not be reached, or did not answer in time
=====  =====  ==========================================================

The forwarded request carries only the headers that matter to the leader
(content type, accept, authorization), never ``Host`` or
``Content-Length``: httpx sets those for the new connection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import httpx

from minikafka.registry import errors

DEFAULT_TIMEOUT_S = 10.0
_FORWARDED_HEADERS = ("content-type", "accept", "authorization")


@dataclasses.dataclass(frozen=True)
class ForwardedResponse:
    """The leader's answer, to be returned as it is."""

    status_code: int
    body: bytes
    content_type: str


class Forwarder:
    """Sends writes to the leader. Owned by one Trio run; task-safe (one httpx client).

    Args:
        leadership: has ``is_leader()`` and ``leader_url()`` (the elector).
        timeout_s: how long the leader may take to answer.
    """

    def __init__(self, leadership, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.leadership = leadership
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def __call__(self, method: str, path: str, query: Mapping[str, str] | str | None,
                       body: bytes | None, headers: Mapping[str, str] | None) -> ForwardedResponse:
        """Forward one request; return the leader's response.

        Args:
            path: the request path (``/subjects/s/versions``).
            query: the query string or its parameters.

        Raises:
            RegistryError: no leader known (50004), or it failed to answer (50003).
        """
        leader_url = self.leadership.leader_url()
        if leader_url is None:
            raise errors.unknown_leader()
        kept = {k: v for k, v in (headers or {}).items() if k.lower() in _FORWARDED_HEADERS}
        params = httpx.QueryParams(query) if query else None
        try:
            response = await self._client.request(method, leader_url.rstrip("/") + path,
                                                  params=params, content=body or None, headers=kept)
        except httpx.HTTPError as exc:
            raise errors.forwarding_failed(f"Error while forwarding the request to the leader "
                                           f"{leader_url}: {exc or type(exc).__name__}") from exc
        return ForwardedResponse(response.status_code, response.content,
                                 response.headers.get("content-type", "application/json"))

    async def aclose(self) -> None:
        await self._client.aclose()
