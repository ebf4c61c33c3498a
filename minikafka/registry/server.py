"""One schema registry instance: the store, its Kafka log, the election and the HTTP API.

``serve_registry(config)`` wires the parts together, in the order that keeps
the registry's promises:

1. open the ``_schemas`` log (``kafka_log``): create the topic if missing,
   start the reader and read to the end: the store now holds every
   subject, version and id the cluster knows;
2. serve the REST API (``app``, Quart-Trio under Hypercorn) on
   ``listeners``; reads are answered from the store at once, writes wait
   for a leader;
3. join the ``schema.registry.group.id`` group (``election``) advertising
   this instance's URL; once the first assignment names a leader the
   instance is ready (``task_status.started(url)``). The leader writes; the
   others forward writes to it (``forwarding``).

Config keys are Confluent's (a ``schema-registry.properties`` file works):

================================  ===========================  ================================
key                               default                      meaning
================================  ===========================  ================================
listeners                         http://127.0.0.1:8081        where the API listens (port 0: any)
kafkastore.bootstrap.servers      (required)                   the Kafka cluster (``PLAINTEXT://``
                                                               prefixes are accepted)
kafkastore.topic                  _schemas                     the log topic
kafkastore.timeout.ms             10000 (Confluent: 500)       how long a write may take
kafkastore.init.timeout.ms        60000                        how long start-up may take
schema.registry.group.id          schema-registry              the election group
leader.eligibility                true                         may this instance be the writer
host.name                         the listener's host          the host other instances forward to
kafkagroup.session.timeout.ms     10000                        a dead leader is replaced after this
kafkagroup.heartbeat.interval.ms  3000
kafkagroup.rebalance.timeout.ms   300000
================================  ===========================  ================================
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import trio

from minikafka.registry.election import Identity, LeaderElector
from minikafka.registry.forwarding import Forwarder
from minikafka.registry.kafka_log import open_kafka_schema_log

DEFAULT_LISTENER = "http://127.0.0.1:8081"

DEFAULTS: dict[str, str] = {
    "listeners": DEFAULT_LISTENER,
    "kafkastore.bootstrap.servers": "",
    "kafkastore.topic": "_schemas",
    "kafkastore.timeout.ms": "10000",
    "kafkastore.init.timeout.ms": "60000",
    "schema.registry.group.id": "schema-registry",
    "leader.eligibility": "true",
    "host.name": "",
    "kafkagroup.session.timeout.ms": "10000",
    "kafkagroup.heartbeat.interval.ms": "3000",
    "kafkagroup.rebalance.timeout.ms": "300000",
}


class RegistryConfigError(ValueError):
    """A missing or malformed setting."""


@dataclasses.dataclass(frozen=True)
class RegistryConfig:
    """The settings of one instance, parsed from Confluent's keys."""

    scheme: str
    listen_host: str
    listen_port: int
    bootstrap: str
    topic: str
    timeout_ms: int
    init_timeout_ms: int
    group_id: str
    leader_eligibility: bool
    host_name: str
    session_timeout_ms: int
    heartbeat_interval_ms: int
    rebalance_timeout_ms: int

    @classmethod
    def from_properties(cls, properties: Mapping[str, str]) -> "RegistryConfig":
        """Parse ``properties`` (Confluent's keys; unknown keys are ignored, as Confluent does).

        Raises:
            RegistryConfigError: no bootstrap servers, or a malformed listener or number.
        """
        p = {**DEFAULTS, **{k: str(v) for k, v in properties.items()}}
        bootstrap = ",".join(_strip_scheme(s) for s in p["kafkastore.bootstrap.servers"].split(",")
                             if s.strip())
        if not bootstrap:
            raise RegistryConfigError("kafkastore.bootstrap.servers is required")
        scheme, host, port = parse_listener(p["listeners"].split(",")[0])
        try:
            return cls(scheme, host, port, bootstrap, p["kafkastore.topic"],
                       int(p["kafkastore.timeout.ms"]), int(p["kafkastore.init.timeout.ms"]),
                       p["schema.registry.group.id"], p["leader.eligibility"].lower() == "true",
                       p["host.name"], int(p["kafkagroup.session.timeout.ms"]),
                       int(p["kafkagroup.heartbeat.interval.ms"]),
                       int(p["kafkagroup.rebalance.timeout.ms"]))
        except ValueError as exc:
            raise RegistryConfigError(f"a setting is not a number: {exc}") from exc

    def advertised_host(self) -> str:
        """``host.name``, else the listener's host (a wildcard one: this machine's name)."""
        if self.host_name:
            return self.host_name
        if self.listen_host in ("", "0.0.0.0", "::"):
            return socket.getfqdn()
        return self.listen_host


def parse_listener(listener: str) -> tuple[str, str, int]:
    """``http://host:port`` (or ``host:port``) to ``(scheme, host, port)``."""
    text = listener.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme != "http":
        raise RegistryConfigError(f"listener {listener!r}: only http is served")
    try:
        port = parts.port if parts.port is not None else 8081
    except ValueError as exc:
        raise RegistryConfigError(f"listener {listener!r}: {exc}") from exc
    return parts.scheme, parts.hostname or "127.0.0.1", port


def _strip_scheme(server: str) -> str:
    server = server.strip()
    return server.split("://", 1)[1] if "://" in server else server


def read_properties(path: str | Path) -> dict[str, str]:
    """A Java ``.properties`` file's ``key=value`` lines (``#`` and ``!`` comments)."""
    properties = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, _, value = line.partition(":")
        properties[key.strip()] = value.strip()
    return properties


async def serve_registry(properties: Mapping[str, str], *,
                         task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run one registry instance until cancelled; ``task_status.started(url)`` once it is ready.

    Raises:
        RegistryConfigError: bad settings.
        KafkaStoreError: Kafka cannot be reached, or ``_schemas`` is unusable.
    """
    from minikafka.registry.app import create_app  # Quart: heavy, imported when serving
    from minikafka.registry.service import RegistryService
    from minikafka.registry.store import SchemaStore

    config = RegistryConfig.from_properties(properties)
    store = SchemaStore()
    async with open_kafka_schema_log(store.apply, config.bootstrap, topic=config.topic,
                                     timeout_ms=config.timeout_ms,
                                     init_timeout_ms=config.init_timeout_ms) as schema_log:
        elector = LeaderElector(
            config.bootstrap, Identity(config.advertised_host(), config.listen_port,
                                       config.leader_eligibility, config.scheme),
            group_id=config.group_id, on_elected=schema_log.wait_until_caught_up,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            rebalance_timeout_ms=config.rebalance_timeout_ms)
        forwarder = Forwarder(elector)
        service = RegistryService(store, schema_log, elector,
                                  kafka_cluster_id=schema_log.consumer.cluster.cluster_id)
        app = create_app(service, forward=forwarder)
        try:
            async with trio.open_nursery() as nursery:
                port = await nursery.start(_serve_http, app, config.listen_host, config.listen_port)
                elector.identity = dataclasses.replace(elector.identity, port=port)
                await nursery.start(elector.run)
                with trio.fail_after(config.init_timeout_ms / 1000):
                    await elector.elected.wait()
                task_status.started(elector.identity.url)
        finally:
            with trio.CancelScope(shield=True):
                await forwarder.aclose()


async def _serve_http(app, host: str, port: int, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Hypercorn on ``host:port``; ``task_status.started(port actually bound)``."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    hyper = Config()
    hyper.bind = [f"{host}:{port}"]
    hyper.accesslog = None
    hyper.errorlog = None
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(serve, app, hyper)
        task_status.started(urlsplit(bound[0]).port if bound else port)
