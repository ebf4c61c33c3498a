"""When a client may try again, and how long it waits first (KIP-580).

Some Kafka errors are *retriable*: the request was refused for a reason that
goes away by itself (a leader moved, a coordinator is loading, the broker was
restarting), so sending the same request again later is safe and will likely
succeed. Apache Kafka marks them by making their exception a subclass of
``RetriableException``; ``RETRIABLE`` below is that table, by error code.

A subset, ``METADATA_ERRORS`` (Kafka's ``InvalidMetadataException``s), also
means "your metadata is stale": the client must ask Metadata again before it
resends, or it would send to the same wrong broker.

How long to wait between attempts is ``ExponentialBackoff``, KIP-580's
formula, exactly as Java's ``org.apache.kafka.common.utils.ExponentialBackoff``:

    backoff(attempts) = retry.backoff.ms * 2 ** attempts * uniform(0.8, 1.2)

with ``attempts`` capped where ``retry.backoff.ms * 2 ** attempts`` reaches
``retry.backoff.max.ms``. With Kafka's defaults (100 ms, 1000 ms) the waits
are about 100, 200, 400, 800, 1000, 1000, ... ms. The jitter (+-20 %) keeps
many clients that failed together from retrying together (a thundering herd).

This module is pure: randomness is injected (``random``), so a test can pin it.
"""

from __future__ import annotations

import math
import random as _random

from minikafka.errors import ErrorCode, KafkaError

# Kafka's CommonClientConfigs: RETRY_BACKOFF_EXP_BASE and RETRY_BACKOFF_JITTER.
EXP_BASE = 2
JITTER = 0.2

# Stale metadata: refresh it, then resend (Kafka's InvalidMetadataException family).
METADATA_ERRORS = frozenset({
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.NETWORK_EXCEPTION,
    ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.LISTENER_NOT_FOUND,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    ErrorCode.UNKNOWN_TOPIC_ID,
    ErrorCode.INCONSISTENT_TOPIC_ID,
    ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
    ErrorCode.NOT_CONTROLLER,  # not one in Java, but the admin client re-reads metadata too
})

# Every error whose Java exception is a RetriableException.
RETRIABLE = METADATA_ERRORS | frozenset({
    ErrorCode.CORRUPT_MESSAGE,  # may have been corrupted in flight
    ErrorCode.REQUEST_TIMED_OUT,
    ErrorCode.UNKNOWN_LEADER_EPOCH,  # our epoch is newer than the broker's: it will catch up
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.NOT_ENOUGH_REPLICAS,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    ErrorCode.CONCURRENT_TRANSACTIONS,
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    ErrorCode.INVALID_FETCH_SESSION_EPOCH,
    ErrorCode.OFFSET_NOT_AVAILABLE,
    ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    ErrorCode.UNSTABLE_OFFSET_COMMIT,
    ErrorCode.THROTTLING_QUOTA_EXCEEDED,
})

# What an admin call retries. Not UNKNOWN_TOPIC_OR_PARTITION: "describe topic x"
# must fail at once when x does not exist, not after default.api.timeout.ms
# (Kafka's admin client, too, fails such calls instead of retrying them).
ADMIN_RETRIABLE = RETRIABLE - {ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}


def is_retriable(code: int) -> bool:
    """Whether sending the same request again later may succeed."""
    return code in RETRIABLE


def needs_metadata_refresh(code: int) -> bool:
    """Whether the error means the client's metadata is out of date."""
    return code in METADATA_ERRORS


def error_code_of(exc: BaseException) -> ErrorCode | None:
    """The Kafka error code an exception carries, or None."""
    return exc.code if isinstance(exc, KafkaError) else None


class ExponentialBackoff:
    """KIP-580 backoff: exponential growth, capped, with +-``jitter`` randomness.

    Args:
        initial_ms: ``retry.backoff.ms``, the first wait.
        max_ms: ``retry.backoff.max.ms``, where growth stops.
        multiplier: growth per attempt (Kafka: 2).
        jitter: relative randomness (Kafka: 0.2 for +-20 %).
        random: a ``random.Random``-like source (``uniform``), for tests.
    """

    def __init__(self, initial_ms: float = 100, max_ms: float = 1000, *,
                 multiplier: float = EXP_BASE, jitter: float = JITTER, random=None):
        self.initial_ms = min(initial_ms, max_ms)  # as Java: the max wins
        self.max_ms = max_ms
        self.multiplier = multiplier
        self.jitter = jitter
        self._random = random or _random.Random()
        if max_ms > self.initial_ms > 0:
            self._max_exponent = math.log(max_ms / self.initial_ms) / math.log(multiplier)
        else:
            self._max_exponent = 0

    def backoff_ms(self, attempts: int) -> float:
        """How long to wait after ``attempts`` failed attempts (0: after the first)."""
        if self._max_exponent <= 0:
            return self.max_ms
        exponent = min(attempts, self._max_exponent)
        term = self.initial_ms * self.multiplier ** exponent
        factor = 1.0 if self.jitter < 1e-4 else self._random.uniform(1 - self.jitter,
                                                                      1 + self.jitter)
        return factor * term
