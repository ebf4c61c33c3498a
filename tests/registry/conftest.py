"""Shared pieces of the registry tests: schemas, a service over the in-memory log, a served app."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest
import trio

from minikafka.registry.app import create_app
from minikafka.registry.memory_log import MemorySchemaLog
from minikafka.registry.service import RegistryService

USER_V1 = json.dumps({"type": "record", "name": "User", "namespace": "shop",
                      "fields": [{"name": "name", "type": "string"}]})
USER_V2_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "shop",
                              "fields": [{"name": "name", "type": "string"},
                                         {"name": "email", "type": "string", "default": ""}]})
USER_V2_NO_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "shop",
                                 "fields": [{"name": "name", "type": "string"},
                                            {"name": "email", "type": "string"}]})
ORDER_V1 = json.dumps({"type": "record", "name": "Order", "namespace": "shop",
                       "fields": [{"name": "id", "type": "long"}]})


@pytest.fixture
def memory_log() -> MemorySchemaLog:
    return MemorySchemaLog()


@pytest.fixture
def service(memory_log) -> RegistryService:
    return RegistryService(memory_log.store, memory_log)


@asynccontextmanager
async def serving(app):
    """Serve ``app`` with Hypercorn on a free port of 127.0.0.1 in this Trio run; yield its URL."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(serve, app, config)
        yield bound[0]
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def serving_registry(service: RegistryService, **app_options):
    async with serving(create_app(service, **app_options)) as url:
        yield url
