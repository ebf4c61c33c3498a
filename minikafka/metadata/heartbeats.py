"""Broker liveness as the active controller sees it (Kafka's ``BrokerHeartbeatManager``).

Each broker heartbeats the active controller every
``broker.heartbeat.interval.ms`` (2 s by default). A broker not heard from for
more than ``broker.session.timeout.ms`` (9 s) is *fenced*: it loses its
leaderships and leaves the ISRs, so clients and followers move elsewhere.

This state lives only in the active controller's memory, not in the metadata
log: contacts are far too frequent to replicate, and a new active controller
simply starts every broker's session afresh (:meth:`reset_all`), giving live
brokers one full session to reach it.

Times are ``now_ms`` values passed in (sans-I/O); nothing here reads a clock.
"""

from __future__ import annotations


class BrokerHeartbeatManager:
    """Last contact time per broker. Owned by one QuorumController."""

    def __init__(self, session_timeout_ms: int):
        self.session_timeout_ms = session_timeout_ms
        self._last_contact_ms: dict[int, int] = {}

    def touch(self, broker_id: int, now_ms: int) -> None:
        """Record a heartbeat (or a registration) from ``broker_id``."""
        self._last_contact_ms[broker_id] = now_ms

    def forget(self, broker_id: int) -> None:
        self._last_contact_ms.pop(broker_id, None)

    def reset_all(self, broker_ids, now_ms: int) -> None:
        """Start every broker's session at ``now_ms`` (on becoming active)."""
        self._last_contact_ms = {broker_id: now_ms for broker_id in broker_ids}

    def has_valid_session(self, broker_id: int, now_ms: int) -> bool:
        last = self._last_contact_ms.get(broker_id)
        return last is not None and now_ms - last <= self.session_timeout_ms

    def expired(self, candidates, now_ms: int) -> list[int]:
        """Those ``candidates`` whose session ran out, sorted."""
        return sorted(b for b in candidates if not self.has_valid_session(b, now_ms))

    def next_expiry_ms(self, candidates) -> int | None:
        """When the first of ``candidates`` will expire (for the runtime's timer)."""
        times = [self._last_contact_ms[b] for b in candidates if b in self._last_contact_ms]
        return min(times) + self.session_timeout_ms + 1 if times else None
