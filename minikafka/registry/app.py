"""The registry's REST API: Confluent Schema Registry's routes on Quart-Trio.

Routes (thin: each reads the request, calls ``RegistryService``, writes JSON)::

    GET    /subjects                                  ?subjectPrefix ?deleted ?deletedOnly
    GET    /subjects/{s}/versions                     ?deleted ?deletedOnly
    POST   /subjects/{s}/versions                     register   ?normalize   -> {"id": n}
    POST   /subjects/{s}                              look up    ?normalize ?deleted ?format
    DELETE /subjects/{s}                              ?permanent
    GET    /subjects/{s}/versions/{v}                 v = n | latest | -1   ?deleted ?format
    DELETE /subjects/{s}/versions/{v}                 ?permanent
    GET    /subjects/{s}/versions/{v}/schema          the schema text alone   ?format
    GET    /subjects/{s}/versions/{v}/referencedby    ids of the schemas referencing it
    GET    /schemas                                   ?subjectPrefix ?deleted ?latestOnly
    GET    /schemas/ids/{id}                          ?subject ?format
    GET    /schemas/ids/{id}/schema | /subjects | /versions
    GET    /schemas/types
    GET    /config            PUT /config            DELETE /config
    GET    /config/{s}        PUT /config/{s}        DELETE /config/{s}   (GET: ?defaultToGlobal)
    POST   /compatibility/subjects/{s}/versions/{v}   ?verbose ?normalize
    POST   /compatibility/subjects/{s}/versions       (every version the level asks for)
    GET    /mode  PUT /mode  DELETE /mode  and /mode/{s}  (PUT: ?force)
    GET    /   GET /contexts   GET /v1/metadata/id

Bodies are JSON in ``application/vnd.schemaregistry.v1+json``,
``application/vnd.schemaregistry+json``, ``application/json`` or
``application/octet-stream`` (or no content type); another type is a 415.
A body over ``max_request_bytes`` is a 413. Every error is Confluent's body
``{"error_code": ..., "message": ...}``; a request never gets a bare 500.

A follower instance does not write: its write routes hand the request to
``forward(method, path, query, body, headers)``, which sends it to the
leader and returns the leader's answer (``status_code``, ``body``,
``content_type``) or raises an error with ``http_status``, ``error_code``
and ``message`` (50003 / 50004).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Response, current_app, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from minikafka.registry import errors
from minikafka.registry.errors import RegistryError
from minikafka.registry.inputs import SchemaRequest
from minikafka.registry.service import SCHEMA_TYPES, RegistryService
from minikafka.registry.store import SchemaVersion

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPTED_CONTENT_TYPES = frozenset({
    "application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json",
    "application/json", "application/octet-stream",
})
DEFAULT_MAX_REQUEST_BYTES = 1_048_576
"""A registration becomes one ``_schemas`` record, and Kafka's default
``max.message.bytes`` is about 1 MiB: a larger body could never be stored."""
DRAIN_FACTOR = 16
"""A body over the limit is still read (and dropped) up to this many times the
limit, so the 413 reaches a client that sends its whole body before reading;
beyond that the connection is closed after the answer."""

Forward = Callable[[str, str, str, bytes, dict[str, str]], Awaitable[Any]]


def create_app(service: RegistryService, forward: Forward | None = None, *,
               max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> QuartTrio:
    """The REST API over one ``RegistryService``.

    Args:
        forward: sends a write to the leader when this instance is not it (None:
            a follower answers 50004).
        max_request_bytes: the largest request body accepted.
    """
    app = QuartTrio(__name__)
    app.config["MAX_CONTENT_LENGTH"] = None   # _body() enforces the limit, draining what it refuses
    app.config["REGISTRY_MAX_REQUEST_BYTES"] = max_request_bytes
    _add_error_handlers(app)
    writes = _Writes(service, forward)
    _add_subject_routes(app, service, writes)
    _add_schema_routes(app, service)
    _add_config_routes(app, service, writes)
    _add_mode_routes(app, service, writes)
    return app


# -- requests and responses ---------------------------------------------------------

def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=CONTENT_TYPE)


def _flag(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    return default if value is None else value.strip().lower() == "true"


def _deleted_only() -> bool:
    """Confluent's ``deletedOnly``; confluent-kafka's Python client spells it ``deleted_only``."""
    return _flag("deletedOnly") or _flag("deleted_only")


def _page(items: list) -> list:
    """Confluent's ``offset`` and ``limit`` (a negative limit: all)."""
    offset = max(request.args.get("offset", default=0, type=int) or 0, 0)
    limit = request.args.get("limit", default=-1, type=int)
    items = items[offset:]
    return items if limit is None or limit < 0 else items[:limit]


def _version_json(service: RegistryService, entry: SchemaVersion) -> dict:
    """A version as the API shows it, its schema in the ``?format=`` asked for."""
    body = entry.to_json()
    body["schema"] = service.formatted(entry, request.args.get("format"))
    return body


async def _body() -> bytes:
    """The request body, once its size and content type are checked.

    The body is read to its end even when it is refused, so that the client,
    which may be sending it all before it reads, gets the answer, and the
    connection can serve the next request.
    """
    limit = current_app.config["REGISTRY_MAX_REQUEST_BYTES"]
    too_large = errors.http_error(413, f"Request body larger than the limit of {limit} bytes")
    if (request.content_length or 0) > limit * DRAIN_FACTOR:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.body:
        size += len(chunk)
        if size > limit * DRAIN_FACTOR:
            raise too_large
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise too_large
    mimetype = request.mimetype
    if mimetype and mimetype not in ACCEPTED_CONTENT_TYPES:
        raise errors.http_error(415, "HTTP 415 Unsupported Media Type")
    return b"".join(chunks)


def _decode(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.http_error(400, f"Unexpected character in the JSON body: {exc}") from None
    except RecursionError:
        raise errors.http_error(400, "The JSON body is nested too deeply") from None


async def _json_body() -> Any:
    return _decode(await _body())


class _Writes:
    """Runs a write here if this instance leads, else forwards the request to the leader."""

    def __init__(self, service: RegistryService, forward: Forward | None) -> None:
        self.service = service
        self.forward = forward

    async def run(self, write: Callable[[Any], Awaitable[Response]], *, has_body: bool = True) -> Response:
        data = await _body() if has_body else b""
        if self.service.is_leader():
            return await write(_decode(data))
        if self.forward is None:
            raise errors.unknown_leader()
        answer = await self.forward(request.method, request.path, request.query_string.decode("latin-1"),
                                    data, dict(request.headers))
        return Response(answer.body, status=answer.status_code, content_type=answer.content_type)


def _add_error_handlers(app: QuartTrio) -> None:
    @app.errorhandler(RegistryError)
    async def registry_error(exc: RegistryError):
        response = _json(exc.to_json(), exc.http_status)
        if exc.http_status == 413:   # the body may be partly unread: start afresh
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(HTTPException)
    async def http_exception(exc: HTTPException):
        status = exc.code or 500
        return _json({"error_code": status, "message": f"HTTP {status} {exc.name}"}, status)

    @app.errorhandler(Exception)
    async def anything(exc: Exception):
        if all(hasattr(exc, a) for a in ("http_status", "error_code", "message")):
            return _json({"error_code": exc.error_code, "message": exc.message}, exc.http_status)
        log.exception("the registry failed a request")
        return _json({"error_code": 50001, "message": f"Error in the schema registry: "
                                                      f"{type(exc).__name__}"}, 500)


# -- routes -------------------------------------------------------------------

def _add_subject_routes(app: QuartTrio, service: RegistryService, writes: _Writes) -> None:
    @app.get("/")
    async def root():
        return _json({})

    @app.get("/subjects")
    async def list_subjects():
        return _json(_page(await service.subjects(request.args.get("subjectPrefix", ""),
                                                  _flag("deleted"), _deleted_only())))

    @app.get("/subjects/<subject>/versions")
    async def list_versions(subject: str):
        return _json(_page(await service.versions(subject, _flag("deleted"), _deleted_only())))

    @app.post("/subjects/<subject>/versions")
    async def register(subject: str):
        async def write(body):
            schema_id = await service.register(subject, SchemaRequest.from_json(body), _flag("normalize"))
            return _json({"id": schema_id})
        return await writes.run(write)

    @app.post("/subjects/<subject>")
    async def lookup(subject: str):
        request_ = SchemaRequest.from_json(await _json_body())
        entry = await service.lookup(subject, request_, _flag("normalize"), _flag("deleted"))
        return _json(_version_json(service, entry))

    @app.delete("/subjects/<subject>")
    async def delete_subject(subject: str):
        async def write(_):
            return _json(await service.delete_subject(subject, _flag("permanent")))
        return await writes.run(write, has_body=False)

    @app.get("/subjects/<subject>/versions/<version>")
    async def get_version(subject: str, version: str):
        entry = await service.get_version(subject, version, _flag("deleted"))
        return _json(_version_json(service, entry))

    @app.delete("/subjects/<subject>/versions/<version>")
    async def delete_version(subject: str, version: str):
        async def write(_):
            return _json(await service.delete_version(subject, version, _flag("permanent")))
        return await writes.run(write, has_body=False)

    @app.get("/subjects/<subject>/versions/<version>/schema")
    async def get_version_schema(subject: str, version: str):
        entry = await service.get_version(subject, version, _flag("deleted"))
        return Response(service.formatted(entry, request.args.get("format")), content_type=CONTENT_TYPE)

    @app.get("/subjects/<subject>/versions/<version>/referencedby")
    async def referenced_by(subject: str, version: str):
        return _json(_page(await service.referenced_by(subject, version)))

    @app.post("/compatibility/subjects/<subject>/versions/<version>")
    async def compatibility_with_version(subject: str, version: str):
        request_ = SchemaRequest.from_json(await _json_body())
        return _json(await service.test_compatibility(subject, version, request_,
                                                      _flag("normalize"), _flag("verbose")))

    @app.post("/compatibility/subjects/<subject>/versions")
    async def compatibility_with_all(subject: str):
        request_ = SchemaRequest.from_json(await _json_body())
        return _json(await service.test_compatibility(subject, None, request_,
                                                      _flag("normalize"), _flag("verbose")))


def _add_schema_routes(app: QuartTrio, service: RegistryService) -> None:
    @app.get("/schemas")
    async def list_schemas():
        found = await service.schemas(request.args.get("subjectPrefix", ""), _flag("deleted"),
                                      _flag("latestOnly"))
        return _json(_page([v.to_json() for v in found]))

    @app.get("/schemas/types")
    async def schema_types():
        return _json(SCHEMA_TYPES)

    @app.get("/schemas/ids/<int:schema_id>")
    async def schema_by_id(schema_id: int):
        return _json(await service.schema_by_id(schema_id, request.args.get("format")))

    @app.get("/schemas/ids/<int:schema_id>/schema")
    async def schema_text_by_id(schema_id: int):
        text = await service.schema_text_by_id(schema_id, request.args.get("format"))
        return Response(text, content_type=CONTENT_TYPE)

    @app.get("/schemas/ids/<int:schema_id>/subjects")
    async def subjects_by_id(schema_id: int):
        return _json(_page(await service.subjects_by_id(schema_id, request.args.get("subject"),
                                                        _flag("deleted"))))

    @app.get("/schemas/ids/<int:schema_id>/versions")
    async def versions_by_id(schema_id: int):
        found = await service.versions_by_id(schema_id, request.args.get("subject"), _flag("deleted"))
        return _json(_page([{"subject": v.subject, "version": v.version} for v in found]))

    @app.get("/contexts")
    async def contexts():
        return _json(["."])

    @app.get("/v1/metadata/id")
    async def metadata_id():
        clusters = {"schema-registry-cluster": "schema-registry"}
        if service.kafka_cluster_id:
            clusters["kafka-cluster"] = service.kafka_cluster_id
        return _json({"scope": {"path": [], "clusters": clusters}})


def _add_config_routes(app: QuartTrio, service: RegistryService, writes: _Writes) -> None:
    def level_in(body: Any) -> Any:
        if not isinstance(body, dict):
            raise errors.invalid_compatibility_level()
        return body.get("compatibility", body.get("compatibilityLevel"))

    @app.get("/config")
    async def get_global_config():
        return _json({"compatibilityLevel": await service.get_config(None)})

    @app.get("/config/<subject>")
    async def get_subject_config(subject: str):
        level = await service.get_config(subject, _flag("defaultToGlobal"))
        return _json({"compatibilityLevel": level})

    @app.put("/config")
    @app.put("/config/<subject>")
    async def put_config(subject: str | None = None):
        async def write(body):
            return _json({"compatibility": await service.set_config(subject, level_in(body))})
        return await writes.run(write)

    @app.delete("/config")
    @app.delete("/config/<subject>")
    async def delete_config(subject: str | None = None):
        async def write(_):
            return _json({"compatibilityLevel": await service.delete_config(subject)})
        return await writes.run(write, has_body=False)


def _add_mode_routes(app: QuartTrio, service: RegistryService, writes: _Writes) -> None:
    @app.get("/mode")
    async def get_global_mode():
        return _json({"mode": await service.get_mode(None)})

    @app.get("/mode/<subject>")
    async def get_subject_mode(subject: str):
        return _json({"mode": await service.get_mode(subject, _flag("defaultToGlobal"))})

    @app.put("/mode")
    @app.put("/mode/<subject>")
    async def put_mode(subject: str | None = None):
        async def write(body):
            mode = body.get("mode") if isinstance(body, dict) else None
            return _json({"mode": await service.set_mode(subject, mode, _flag("force"))})
        return await writes.run(write)

    @app.delete("/mode")
    @app.delete("/mode/<subject>")
    async def delete_mode(subject: str | None = None):
        async def write(_):
            return _json({"mode": await service.delete_mode(subject)})
        return await writes.run(write, has_body=False)
