"""Client-side throttling: after a throttled response, wait before asking that broker again.

A broker that finds a client over its quota (bytes produced or fetched per
second, request time, controller mutations) computes a *throttle time* and
returns it in the response's ``throttle_time_ms``. Since KIP-219 the broker
answers at once and then mutes the connection for that long; the client is
expected to do its share: **send no request to that broker until the throttle
time has passed** (Java's ``NetworkClient.maybeThrottle`` and
``ClusterConnectionStates.throttle``). A client that kept sending would only
fill the muted connection's socket buffer, and its requests would time out.

Which responses oblige the client is a property of the API *version*
(Java's ``AbstractResponse.shouldClientThrottle``): the versions from which
the broker throttles *after* answering. For older versions the broker
delays the response itself, and the client must not wait a second time.
``CLIENT_THROTTLES_FROM`` lists, per API key, the first such version; an
API not listed is never throttled by the client (DescribeClientQuotas,
DescribeCluster, ConsumerGroupHeartbeat, ...: Kafka's default).

``NodeThrottle`` holds one broker's deadline. The ``Cluster`` keeps one per
broker address, so the deadline outlives a reconnect (as Java's per-node
connection state does: a new connection would not escape the throttle), and
hands it to each ``Connection`` to that address. The deadline never moves
back: a later response with a shorter throttle does not shorten a longer
one already running.

Sans-I/O: times are ``now_ms`` passed in (Trio's clock, in ms, at the
callers).
"""

from __future__ import annotations

# API key -> the first response version for which the client throttles itself
# (Kafka's shouldClientThrottle; "true" in Kafka is version 0 here).
CLIENT_THROTTLES_FROM: dict[int, int] = {
    0: 6,    # Produce
    1: 8,    # Fetch
    2: 3,    # ListOffsets
    3: 6,    # Metadata
    8: 4,    # OffsetCommit
    9: 4,    # OffsetFetch
    10: 2,   # FindCoordinator
    11: 3,   # JoinGroup
    12: 2,   # Heartbeat
    13: 2,   # LeaveGroup
    14: 2,   # SyncGroup
    15: 2,   # DescribeGroups
    16: 2,   # ListGroups
    18: 2,   # ApiVersions
    19: 3,   # CreateTopics
    20: 2,   # DeleteTopics
    21: 1,   # DeleteRecords
    22: 1,   # InitProducerId
    24: 1,   # AddPartitionsToTxn
    25: 1,   # AddOffsetsToTxn
    26: 1,   # EndTxn
    28: 1,   # TxnOffsetCommit
    29: 1,   # DescribeAcls
    30: 1,   # CreateAcls
    31: 1,   # DeleteAcls
    32: 2,   # DescribeConfigs
    33: 1,   # AlterConfigs
    34: 1,   # AlterReplicaLogDirs
    35: 1,   # DescribeLogDirs
    37: 1,   # CreatePartitions
    38: 1,   # CreateDelegationToken
    39: 1,   # RenewDelegationToken
    40: 1,   # ExpireDelegationToken
    41: 1,   # DescribeDelegationToken
    42: 1,   # DeleteGroups
    43: 0,   # ElectLeaders
    44: 0,   # IncrementalAlterConfigs
    45: 0,   # AlterPartitionReassignments
    46: 0,   # ListPartitionReassignments
    47: 0,   # OffsetDelete
    50: 0,   # DescribeUserScramCredentials
    51: 0,   # AlterUserScramCredentials
    62: 0,   # BrokerRegistration
    63: 0,   # BrokerHeartbeat
    64: 0,   # UnregisterBroker
    75: 0,   # DescribeTopicPartitions
}


def should_client_throttle(api_key: int, api_version: int) -> bool:
    """Whether a response of this API and version asks the client to hold back.

    True when the broker, for this version, answers first and mutes the
    connection afterwards (KIP-219), so the client waits out the throttle
    time itself.
    """
    first = CLIENT_THROTTLES_FROM.get(api_key)
    return first is not None and api_version >= first


def throttle_time_of(response) -> int:
    """The response's ``throttle_time_ms``; 0 for responses without one."""
    return getattr(response, "throttle_time_ms", 0) or 0


class NodeThrottle:
    """Until when one broker must not be sent requests.

    Owned by the ``Cluster`` (one per broker address); read by the
    connections to that address and by the producer's sender. Not
    thread-safe; fine within one Trio run.

    Attributes:
        until_ms: the deadline (same clock as ``now_ms``); 0 = never throttled.
    """

    __slots__ = ("until_ms",)

    def __init__(self) -> None:
        self.until_ms = 0.0

    def throttle(self, until_ms: float) -> None:
        """Hold requests back until ``until_ms``; the deadline never moves back."""
        if until_ms > self.until_ms:
            self.until_ms = until_ms

    def delay_ms(self, now_ms: float) -> float:
        """How long requests must still wait (0 when not throttled)."""
        return max(0.0, self.until_ms - now_ms)

    def on_response(self, api_key: int, api_version: int, response, now_ms: float) -> int:
        """Apply one response (Java's ``maybeThrottle``); return its throttle time.

        The throttle time is returned whatever the version (the client's
        throttle-time metrics record every response, as Java's do); the
        deadline moves only when ``should_client_throttle`` says so.
        """
        throttle_time_ms = throttle_time_of(response)
        if throttle_time_ms > 0 and should_client_throttle(api_key, api_version):
            self.throttle(now_ms + throttle_time_ms)
        return throttle_time_ms
