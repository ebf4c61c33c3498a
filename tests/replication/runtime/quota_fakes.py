"""Scripted stand-ins for the broker's quota managers, to watch what Fetch asks of them.

Each fake answers what the test sets and writes down every call, so a test
can check the handler's side of the contract (cap, record, unrecord, throttle)
on a real broker. The managers the tests do not script are disabled, as the
broker's are while no quota is configured.
"""

from __future__ import annotations

import dataclasses

LONG_MAX = 2**63 - 1


class ScriptedFetchQuota:
    """A consumer fetch quota (``ClientQuotaManager`` for FETCH) with a fixed window and throttle."""

    def __init__(self, *, window_bytes: float = LONG_MAX, throttle_time_ms: int = 0, enabled: bool = True):
        self.enabled = enabled
        self.window_bytes = window_bytes
        self.throttle_time_ms = throttle_time_ms
        self.calls: list[tuple] = []

    def max_value_in_window(self, user, client_id, now_ms):
        self.calls.append(("max_value_in_window", user, client_id))
        return self.window_bytes

    def record_and_get_throttle_ms(self, user, client_id, value, now_ms):
        self.calls.append(("record", user, client_id, value))
        return self.throttle_time_ms

    def unrecord(self, user, client_id, value, now_ms):
        self.calls.append(("unrecord", user, client_id, value))

    def record_throttle_time(self, user, client_id, throttle_time_ms, now_ms):
        self.calls.append(("throttle_time", user, client_id, throttle_time_ms))

    def recorded(self, kind: str = "record") -> list[int]:
        return [call[-1] for call in self.calls if call[0] == kind]


class ScriptedReplicationQuota:
    """A ``ReplicationQuotaManager`` whose throttled partitions and "exceeded" the test sets."""

    def __init__(self, *, throttled: set[tuple[str, int]] = frozenset(), exceeded: bool = False):
        self.throttled = set(throttled)
        self.exceeded = exceeded
        self.records: list[int] = []

    def is_throttled(self, topic, partition):
        return (topic, partition) in self.throttled

    def is_quota_exceeded(self, now_ms):
        return self.exceeded

    def record(self, value, now_ms):
        self.records.append(value)


class Disabled:
    """A client quota manager with no quota configured."""

    enabled = False


@dataclasses.dataclass
class ScriptedQuotas:
    """``BrokerServices.quotas`` made of the fakes above (disabled where not given)."""

    fetch: object = dataclasses.field(default_factory=Disabled)
    leader_replication: object = dataclasses.field(default_factory=ScriptedReplicationQuota)
    follower_replication: object = dataclasses.field(default_factory=ScriptedReplicationQuota)
    produce: object = dataclasses.field(default_factory=Disabled)
    request: object = dataclasses.field(default_factory=Disabled)
    controller_mutation: object = dataclasses.field(default_factory=Disabled)


def install(broker, quotas: ScriptedQuotas) -> None:
    """Make ``broker``'s request handlers see ``quotas`` from its next request on."""
    broker.services = dataclasses.replace(broker.services, quotas=quotas)
