"""A client of the schema registry's REST API (Confluent's), blocking or async.

Each operation is written once, as a *request* (method, path, query, JSON
body) and a function that turns the answer's JSON into the result; the two
clients only differ in how they send it (``httpx.Client`` or
``httpx.AsyncClient``, which runs on Trio as well as asyncio)::

    registry = SchemaRegistryClient("http://127.0.0.1:8081")
    schema_id = registry.register("payments-value", PAYMENT_SCHEMA)
    ok, reasons = registry.test_compatibility("payments-value", NEW_SCHEMA)

The registry answers errors with a JSON body ``{"error_code": 40401,
"message": "Subject 'x' not found."}``; they are raised as
``SchemaRegistryError`` carrying both, and the HTTP status.

Ids never change meaning, so ``get_schema(id)`` answers are cached for the
client's life (as every Confluent client does); nothing else is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
DEFAULT_TIMEOUT_S = 10.0


class SchemaRegistryError(Exception):
    """The registry refused a request (or could not be reached: ``http_status`` -1)."""

    def __init__(self, http_status: int, error_code: int, message: str):
        super().__init__(f"{message} (HTTP {http_status}, error code {error_code})")
        self.http_status = http_status
        self.error_code = error_code
        self.message = message


@dataclasses.dataclass(frozen=True)
class RegisteredSchema:
    """A schema as the registry keeps it: its text and type, and where it is registered."""

    schema: str
    schema_type: str = "AVRO"
    schema_id: int | None = None
    subject: str | None = None
    version: int | None = None
    references: tuple = ()

    @classmethod
    def from_json(cls, body: dict) -> "RegisteredSchema":
        return cls(schema=body["schema"], schema_type=body.get("schemaType", "AVRO"),
                   schema_id=body.get("id"), subject=body.get("subject"),
                   version=body.get("version"), references=tuple(body.get("references") or ()))


@dataclasses.dataclass(frozen=True)
class _Request:
    """One REST call, and how its answer's JSON becomes the result."""

    method: str
    path: str
    query: dict | None = None
    body: dict | None = None
    result: Callable[[Any], Any] = lambda body: body


def _schema_body(schema: str, schema_type: str, references) -> dict:
    body: dict = {"schema": schema}
    if schema_type != "AVRO":  # Confluent leaves the type out for Avro
        body["schemaType"] = schema_type
    if references:
        body["references"] = [dict(reference) for reference in references]
    return body


def _quote(text: str) -> str:
    return httpx.URL("/" + text).raw_path.decode()[1:].replace("/", "%2F")


class _Operations:
    """The registry's operations as ``_Request``s (shared by both clients)."""

    @staticmethod
    def register(subject, schema, schema_type="AVRO", references=(), normalize=False):
        return _Request("POST", f"/subjects/{_quote(subject)}/versions",
                        {"normalize": "true"} if normalize else None,
                        _schema_body(schema, schema_type, references), lambda body: body["id"])

    @staticmethod
    def lookup(subject, schema, schema_type="AVRO", references=(), normalize=False):
        return _Request("POST", f"/subjects/{_quote(subject)}",
                        {"normalize": "true"} if normalize else None,
                        _schema_body(schema, schema_type, references), RegisteredSchema.from_json)

    @staticmethod
    def get_schema(schema_id, fmt=None):
        return _Request("GET", f"/schemas/ids/{int(schema_id)}", {"format": fmt} if fmt else None,
                        result=lambda body: RegisteredSchema.from_json({**body, "id": schema_id}))

    @staticmethod
    def get_subjects_of_id(schema_id):
        return _Request("GET", f"/schemas/ids/{int(schema_id)}/subjects")

    @staticmethod
    def list_subjects(deleted=False):
        return _Request("GET", "/subjects", {"deleted": "true"} if deleted else None)

    @staticmethod
    def list_versions(subject, deleted=False):
        return _Request("GET", f"/subjects/{_quote(subject)}/versions",
                        {"deleted": "true"} if deleted else None)

    @staticmethod
    def get_version(subject, version="latest"):
        return _Request("GET", f"/subjects/{_quote(subject)}/versions/{version}",
                        result=RegisteredSchema.from_json)

    @staticmethod
    def test_compatibility(subject, schema, schema_type="AVRO", references=(), version="latest"):
        return _Request("POST", f"/compatibility/subjects/{_quote(subject)}/versions/{version}",
                        {"verbose": "true"}, _schema_body(schema, schema_type, references),
                        lambda body: (body["is_compatible"], body.get("messages", [])))

    @staticmethod
    def get_compatibility(subject=None):
        path = "/config" if subject is None else f"/config/{_quote(subject)}"
        return _Request("GET", path, {"defaultToGlobal": "true"} if subject else None,
                        result=lambda body: body["compatibilityLevel"])

    @staticmethod
    def set_compatibility(level, subject=None):
        path = "/config" if subject is None else f"/config/{_quote(subject)}"
        return _Request("PUT", path, None, {"compatibility": level}, lambda body: body["compatibility"])

    @staticmethod
    def delete_subject(subject, permanent=False):
        return _Request("DELETE", f"/subjects/{_quote(subject)}",
                        {"permanent": "true"} if permanent else None)

    @staticmethod
    def delete_version(subject, version, permanent=False):
        return _Request("DELETE", f"/subjects/{_quote(subject)}/versions/{version}",
                        {"permanent": "true"} if permanent else None)


def _answer(request: _Request, response: httpx.Response):
    """The result of ``request`` from the registry's ``response``, or its error raised."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.status_code >= 400:
        if isinstance(body, dict) and "error_code" in body:
            raise SchemaRegistryError(response.status_code, body["error_code"], body.get("message", ""))
        raise SchemaRegistryError(response.status_code, response.status_code, response.text[:200])
    return request.result(body)


def _unreachable(url: str, exc: Exception) -> SchemaRegistryError:
    return SchemaRegistryError(-1, -1, f"schema registry at {url} unreachable: {exc}")


class SchemaRegistryClient:
    """The registry's REST API, blocking (``httpx.Client``). Safe to share between threads."""

    def __init__(self, url: str = "http://127.0.0.1:8081", timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s,
                                  headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
        self._schemas_by_id: dict[tuple[int, str | None], RegisteredSchema] = {}

    def _call(self, request: _Request):
        try:
            response = self._http.request(request.method, request.path, params=request.query,
                                          json=request.body)
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from exc
        return _answer(request, response)

    def get_schema(self, schema_id: int, fmt: str | None = None) -> RegisteredSchema:
        key = (schema_id, fmt)
        if key not in self._schemas_by_id:
            self._schemas_by_id[key] = self._call(_Operations.get_schema(schema_id, fmt))
        return self._schemas_by_id[key]

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class AsyncSchemaRegistryClient:
    """The registry's REST API, async (``httpx.AsyncClient``: Trio or asyncio)."""

    def __init__(self, url: str = "http://127.0.0.1:8081", timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s,
                                       headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
        self._schemas_by_id: dict[tuple[int, str | None], RegisteredSchema] = {}

    async def _call(self, request: _Request):
        try:
            response = await self._http.request(request.method, request.path, params=request.query,
                                                 json=request.body)
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from exc
        return _answer(request, response)

    async def get_schema(self, schema_id: int, fmt: str | None = None) -> RegisteredSchema:
        key = (schema_id, fmt)
        if key not in self._schemas_by_id:
            self._schemas_by_id[key] = await self._call(_Operations.get_schema(schema_id, fmt))
        return self._schemas_by_id[key]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()


def _add_operations(cls, make_method) -> None:
    """Give ``cls`` one method per operation of ``_Operations`` it does not define itself."""
    for name, operation in vars(_Operations).items():
        if name.startswith("_") or name in vars(cls):
            continue
        setattr(cls, name, make_method(name, operation.__func__))


def _sync_method(name, operation):
    def method(self, *args, **kwargs):
        return self._call(operation(*args, **kwargs))
    method.__name__, method.__doc__ = name, f"``{name}`` (blocking); see ``_Operations.{name}``."
    return method


def _async_method(name, operation):
    async def method(self, *args, **kwargs):
        return await self._call(operation(*args, **kwargs))
    method.__name__, method.__doc__ = name, f"``{name}`` (async); see ``_Operations.{name}``."
    return method


_add_operations(SchemaRegistryClient, _sync_method)
_add_operations(AsyncSchemaRegistryClient, _async_method)
