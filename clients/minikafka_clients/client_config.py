"""Which Kafka config keys the bundled clients take: used, accepted and ignored, refused.

The clients are configured as Kafka's are, with a dict of Kafka's property
names (``bootstrap.servers``, ``acks``, ``group.id``, ...). Each key is one of:

- **used**: the client does what Kafka's does with it. The connection keys
  (``cluster.CONNECTION_CONFIG``: ``bootstrap.servers``, ``client.id``,
  ``request.timeout.ms``, ``retry.backoff.ms``, ...) are used by every
  client; each client adds its own (``ProducerConfig.KEYS``,
  ``consumer.DEFAULTS``).
- **accepted and ignored**: a real Kafka key, of the Java client or of
  librdkafka, that a copied configuration may well carry but that changes
  nothing here: socket buffer sizes, metrics, Java class names
  (``key.serializer``: these clients take and return ``bytes``), tuning
  knobs of mechanisms the bundled clients do not have (``reconnect.backoff.ms``:
  a broken connection is reopened at the next request, after
  ``retry.backoff.ms``). They are listed below, with the reason.
- **refused**: a Kafka key whose meaning the clients cannot honour
  (TLS and SASL settings). Ignoring it would silently
  give a different, weaker behaviour, so it is an error that says why.
- **unknown**: anything else, most often a typo. Java's clients only log a
  warning for an unknown key; like librdkafka (``No such configuration
  property``), these clients raise, and suggest the nearest known key.

``check_keys()`` is the one check that ``Producer``, ``Consumer`` and
``Admin`` run on their config.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from .cluster import CONNECTION_CONFIG

# Accepted by every client and ignored.
IGNORED_COMMON = {
    "client.dns.lookup": "addresses are resolved by the operating system",
    "client.rack": "no rack-aware fetching or placement",
    "connections.max.idle.ms": "idle connections stay open until close()",
    "receive.buffer.bytes": "the operating system's socket buffer sizes",
    "send.buffer.bytes": "the operating system's socket buffer sizes",
    "reconnect.backoff.ms": "a broken connection is reopened at the next request",
    "reconnect.backoff.max.ms": "a broken connection is reopened at the next request",
    "socket.connection.setup.timeout.max.ms": "one setup timeout, no exponential growth",
    "metadata.recovery.strategy": "bootstrap servers are tried again when no broker answers",
    "metadata.recovery.rebootstrap.trigger.ms": "bootstrap servers are tried again when no broker answers",
    "metric.reporters": "no reporters: metrics() returns the metrics kept",
    "metrics.recording.level": "the few metrics kept are always recorded",
    "auto.include.jmx.reporter": "no reporters: metrics() returns the metrics kept",
    "enable.metrics.push": "no metrics (KIP-714)",
    "interceptor.classes": "Java classes",
    "security.protocol": "only PLAINTEXT is spoken (other values are refused)",
    # librdkafka's
    "socket.keepalive.enable": "the operating system's default",
    "api.version.request": "ApiVersions is always asked",
    "broker.address.family": "addresses are resolved by the operating system",
    "log_level": "logging is Python's (the logging module)",
    "debug": "logging is Python's (the logging module)",
    "statistics.interval.ms": "no metrics",
}

IGNORED_PRODUCER = {
    **IGNORED_COMMON,
    "key.serializer": "keys are bytes",
    "value.serializer": "values are bytes",
    "partitioner.class": "Kafka's default partitioner, always",
    "partitioner.adaptive.partitioning.enable": "sticky partitioning without broker load (KIP-480)",
    "partitioner.availability.timeout.ms": "sticky partitioning without broker load (KIP-480)",
    "compression.gzip.level": "each codec's default level",
    "compression.lz4.level": "each codec's default level",
    "compression.zstd.level": "each codec's default level",
    "metadata.max.idle.ms": "topic metadata is kept until close()",
}

IGNORED_CONSUMER = {
    **IGNORED_COMMON,
    "key.deserializer": "keys are bytes",
    "value.deserializer": "values are bytes",
    "allow.auto.create.topics": "the consumer never asks the broker to create a topic",
    "check.crcs": "the record codec checks every CRC",
    "exclude.internal.topics": "a regex subscription never matches internal topics",
    "enable.partition.eof": "poll() returns no end-of-partition events",  # librdkafka
}

IGNORED_ADMIN = dict(IGNORED_COMMON)

REFUSED = {
    "sasl.mechanism": "the bundled clients speak PLAINTEXT only",
    "sasl.jaas.config": "the bundled clients speak PLAINTEXT only",
    "ssl.truststore.location": "the bundled clients speak PLAINTEXT only",
    "ssl.keystore.location": "the bundled clients speak PLAINTEXT only",
    "ssl.ca.location": "the bundled clients speak PLAINTEXT only",
}

# The connection keys (bootstrap, timeouts, retry backoff), used by every client.
CONNECTION_KEYS = frozenset(CONNECTION_CONFIG)


def check_keys(config: Mapping[str, object], *, client: str, used: Iterable[str],
               ignored: Mapping[str, str]) -> None:
    """Raise ``ValueError`` for a refused or unknown key of ``config``.

    Args:
        client: ``"producer"``, ``"consumer"`` or ``"admin"`` (for the message).
        used: the keys this client uses.
        ignored: the keys it accepts and ignores (``IGNORED_PRODUCER``, ...).
    """
    known = set(used) | set(ignored)
    for key in config:
        if key in REFUSED:
            raise ValueError(f"{client} config {key!r} is not supported: {REFUSED[key]}")
        if key == "security.protocol" and str(config[key]).upper() != "PLAINTEXT":
            raise ValueError(f"security.protocol={config[key]} is not supported: "
                             "the bundled clients speak PLAINTEXT only")
        if key not in known:
            nearest = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {nearest[0]!r}?)" if nearest else ""
            raise ValueError(f"No such configuration property: {key!r} for the {client}{hint}")
