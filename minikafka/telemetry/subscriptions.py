"""Client-metrics subscriptions: which clients push which metrics, how often.

A subscription is a CLIENT_METRICS config resource (type 16), set with
IncrementalAlterConfigs and kept in the metadata log like any config::

    metrics      metric name prefixes; "*" (or "") means every metric
    interval.ms  the push interval, 100..3600000 (default 300000)
    match        "selector=regex" pairs; a client matches when every regex
                 fully matches its value (no pairs: every client)

Selectors are what the broker knows of a client: ``client_instance_id``,
``client_id``, ``client_software_name``/``_version`` (from ApiVersions v3,
KIP-511), ``client_source_address``/``_port``.

A client gets the *union* of the matching subscriptions: every prefix of
each, pushed at the smallest of their intervals. With no match it gets no
metrics and the default interval (Kafka's ``ClientMetricsManager``). Its
subscription id is a CRC32 of the sorted prefixes, the interval and the
client instance id, so it changes exactly when what the client must push
changes.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterable, Mapping

from minikafka.config import CLIENT_METRICS_KEYS_BY_NAME, validate_client_metrics_configs

ALL_METRICS = "*"
DEFAULT_INTERVAL_MS = CLIENT_METRICS_KEYS_BY_NAME["interval.ms"].default


@dataclasses.dataclass(frozen=True)
class Subscription:
    """One client-metrics resource, parsed."""

    name: str
    metrics: tuple[str, ...]
    interval_ms: int
    match: tuple[tuple[str, re.Pattern], ...] = ()

    @classmethod
    def from_configs(cls, name: str, configs: Mapping[str, str]) -> Subscription:
        """Parse the resource's configs (strings, as in the metadata image)."""
        typed = validate_client_metrics_configs(name, configs)
        match = []
        for entry in typed.get("match", []):
            selector, _, regex = entry.partition("=")
            match.append((selector.strip(), re.compile(regex.strip())))
        return cls(name, tuple(typed.get("metrics", [])), typed.get("interval.ms", DEFAULT_INTERVAL_MS),
                   tuple(match))

    def matches(self, client: Mapping[str, str]) -> bool:
        """True if every ``match`` regex fully matches the client's value for its selector."""
        return all(pattern.fullmatch(client.get(selector) or "") for selector, pattern in self.match)


@dataclasses.dataclass(frozen=True)
class SubscriptionSet:
    """What one client must push: the union of its matching subscriptions."""

    metrics: tuple[str, ...]
    interval_ms: int
    subscription_id: int

    @property
    def requested_metrics(self) -> list[str]:
        """The wire form: ``[""]`` for all metrics, ``[]`` for none, else the prefixes."""
        if ALL_METRICS in self.metrics or "" in self.metrics:
            return [""]
        return list(self.metrics)


def subscriptions_from_image(configs: Mapping[tuple[int, str], Mapping[str, str]],
                             resource_type: int) -> list[Subscription]:
    """Every client-metrics resource of the image, parsed (bad ones skipped)."""
    subscriptions = []
    for (rtype, name), values in sorted(configs.items()):
        if rtype == resource_type:
            try:
                subscriptions.append(Subscription.from_configs(name, values))
            except Exception:  # validated when written; a bad one is never fatal here
                continue
    return subscriptions


def subscription_set(subscriptions: Iterable[Subscription], client: Mapping[str, str],
                     client_instance_id: bytes) -> SubscriptionSet:
    """The union of the subscriptions that match ``client``, and its id."""
    matching = [s for s in subscriptions if s.matches(client) and s.metrics]
    metrics = tuple(sorted({m for s in matching for m in s.metrics}))
    interval = min((s.interval_ms for s in matching), default=DEFAULT_INTERVAL_MS)
    return SubscriptionSet(metrics, interval, subscription_id(metrics, interval, client_instance_id))


def subscription_id(metrics: tuple[str, ...], interval_ms: int, client_instance_id: bytes) -> int:
    """A signed 32-bit id that changes whenever the prefixes or the interval change."""
    data = (",".join(metrics) + f"|{interval_ms}|").encode() + client_instance_id
    crc = zlib.crc32(data)
    return crc - (1 << 32) if crc >= 1 << 31 else crc
