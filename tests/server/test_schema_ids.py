"""The broker's schema registry client: what it asks, what it caches, how it fails.

The registry's HTTP answers come from an httpx ``MockTransport`` (the client's
transport seam) that serves Confluent's two routes from a dict and counts the
requests; a real registry over a real socket is in
tests/integration/schema_validation/.
"""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from minikafka.handlers.services import SchemaRegistryUnavailable
from minikafka.server import schema_ids as schema_ids_module
from minikafka.server.schema_ids import SchemaIdLookup


class Registry:
    """``{id: [subjects]}`` behind Confluent's ``GET /schemas/ids/{id}[/versions]``."""

    def __init__(self, subjects_by_id, *, status=200):
        self.subjects_by_id = subjects_by_id
        self.status = status
        self.requests = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.host, request.url.path))
        if self.status != 200:
            return httpx.Response(self.status, json={"error_code": 50001, "message": "Error in the backend"})
        parts = request.url.path.strip("/").split("/")
        schema_id = int(parts[2])
        if schema_id not in self.subjects_by_id:
            return httpx.Response(404, json={"error_code": 40403, "message": "Schema not found"})
        if parts[-1] == "versions":
            return httpx.Response(200, json=[{"subject": s, "version": 1} for s in self.subjects_by_id[schema_id]])
        return httpx.Response(200, content=json.dumps({"schema": '"string"'}))


def run(coroutine_function, *args):
    return trio.run(coroutine_function, *args)


def test_a_confirmed_pair_is_asked_once(tmp_path):
    registry = Registry({7: ["orders-value", "audit-value"]})
    lookup = SchemaIdLookup(["http://registry:8081/"], transport=httpx.MockTransport(registry))

    async def scenario():
        assert await lookup.is_registered(7, "orders-value")
        assert await lookup.is_registered(7, "orders-value")
        assert await lookup.is_registered(7, "audit-value")  # learnt from the same answer
        assert not await lookup.is_registered(7, "payments-value")
        await lookup.aclose()

    run(scenario)
    # The last question was asked again: a subject the id is not under is not cached.
    assert registry.requests == [("registry", "/schemas/ids/7/versions")] * 2


def test_an_unknown_id_is_not_registered_and_asked_again_next_time():
    registry = Registry({})
    lookup = SchemaIdLookup(["http://registry:8081"], transport=httpx.MockTransport(registry))

    async def scenario():
        assert not await lookup.is_registered(99, "orders-value")
        assert not await lookup.is_registered(99, "orders-value")
        assert await lookup.schema(99) is None

    run(scenario)
    assert len(registry.requests) == 3  # no negative cache


@pytest.mark.parametrize("body", [5, "x", {"subject": "orders-value"}, [7, None]])
def test_an_odd_answer_confirms_nothing_and_breaks_nothing(body):
    lookup = SchemaIdLookup(["http://registry:8081"],
                            transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    assert run(lookup.is_registered, 7, "orders-value") is False
    assert lookup.cached_pairs() == 0


@pytest.mark.parametrize("status", [500, 503, 401])
def test_an_error_answer_is_the_registry_unavailable(status):
    lookup = SchemaIdLookup(["http://registry:8081"], transport=httpx.MockTransport(Registry({}, status=status)))
    with pytest.raises(SchemaRegistryUnavailable, match=f"HTTP {status}"):
        run(lookup.is_registered, 7, "orders-value")


def test_a_registry_nobody_listens_on_is_unavailable():
    with socket_nobody_listens_on() as port:
        lookup = SchemaIdLookup([f"http://user:secret@127.0.0.1:{port}"], timeout_s=2)
        with pytest.raises(SchemaRegistryUnavailable) as caught:
            run(lookup.is_registered, 7, "orders-value")
    assert "ConnectError" in str(caught.value)
    assert "secret" not in str(caught.value)  # credentials never reach a client


@pytest.mark.parametrize("url", ["http://[broken", "http://exa\x00mple"])
def test_a_url_that_does_not_parse_is_the_registry_unavailable(url):
    lookup = SchemaIdLookup([url])
    with pytest.raises(SchemaRegistryUnavailable):
        run(lookup.is_registered, 7, "orders-value")


def test_the_next_url_answers_when_the_first_fails():
    registry = Registry({7: ["orders-value"]})

    def handler(request):
        if request.url.host == "down":
            raise httpx.ConnectError("connection refused", request=request)
        return registry(request)

    lookup = SchemaIdLookup(["http://down:8081", "http://up:8081"], transport=httpx.MockTransport(handler))
    assert run(lookup.is_registered, 7, "orders-value")
    assert registry.requests == [("up", "/schemas/ids/7/versions")]


def test_the_cache_keeps_the_most_recently_used_pairs(monkeypatch):
    monkeypatch.setattr(schema_ids_module, "MAX_CACHED_PAIRS", 2)
    registry = Registry({1: ["a"], 2: ["b"], 3: ["c"]})
    lookup = SchemaIdLookup(["http://registry:8081"], transport=httpx.MockTransport(registry))

    async def scenario():
        for schema_id, subject in ((1, "a"), (2, "b"), (1, "a"), (3, "c"), (1, "a"), (2, "b")):
            assert await lookup.is_registered(schema_id, subject)

    run(scenario)
    # 1 stays (used again), 2 is evicted by 3 and asked again at the end.
    assert [path for _, path in registry.requests] == [
        "/schemas/ids/1/versions", "/schemas/ids/2/versions", "/schemas/ids/3/versions",
        "/schemas/ids/2/versions"]
    assert lookup.cached_pairs() == 2


class socket_nobody_listens_on:
    """A port that was free a moment ago (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc):
        return False


def test_a_registry_that_does_not_answer_in_time_is_unavailable():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    lookup = SchemaIdLookup(["http://slow:8081"], timeout_s=0.5, transport=httpx.MockTransport(handler))
    with pytest.raises(SchemaRegistryUnavailable, match="no answer within 0.5 s"):
        run(lookup.is_registered, 7, "orders-value")


def test_a_paused_registry_times_out_on_a_real_socket():
    """A socket that accepts (the kernel's backlog) but never answers, as a SIGSTOPped registry."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        lookup = SchemaIdLookup([f"http://127.0.0.1:{server.getsockname()[1]}"], timeout_s=0.3)
        with pytest.raises(SchemaRegistryUnavailable, match="no answer within"):
            run(lookup.is_registered, 7, "orders-value")


@pytest.mark.parametrize("url, shown", [
    ("http://registry:8081", "http://registry:8081"),
    ("http://user:secret@registry:8081/sr", "http://registry:8081/sr"),
    ("https://user:secret@[::1]:8081", "https://[::1]:8081"),
    ("http://user:secret@", "http://"),
    ("http://user:secret@[broken", "[broken"),
])
def test_credentials_are_redacted_from_urls(url, shown):
    assert schema_ids_module.redact(url) == shown
