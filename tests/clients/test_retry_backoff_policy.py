"""The retry policy: KIP-580 backoff, the retriable-error table, Cluster.retry."""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients.cluster import Cluster, connection_options
from minikafka_clients.connection import KafkaConnectionError
from minikafka_clients.retry import (
    ADMIN_RETRIABLE, RETRIABLE, ExponentialBackoff, is_retriable, needs_metadata_refresh)


class FixedRandom:
    """``uniform(a, b)`` returns the point ``fraction`` of the way from a to b."""

    def __init__(self, fraction: float):
        self.fraction = fraction
        self.calls = []

    def uniform(self, low, high):
        self.calls.append((low, high))
        return low + (high - low) * self.fraction


def test_backoff_doubles_from_retry_backoff_ms_up_to_the_max():
    backoff = ExponentialBackoff(100, 1000, random=FixedRandom(0.5))  # no jitter at the midpoint
    assert [round(backoff.backoff_ms(n)) for n in range(7)] == [100, 200, 400, 800, 1000, 1000, 1000]


def test_jitter_is_plus_or_minus_twenty_percent():
    low, high = FixedRandom(0.0), FixedRandom(1.0)
    assert ExponentialBackoff(100, 1000, random=low).backoff_ms(1) == pytest.approx(160)
    assert ExponentialBackoff(100, 1000, random=high).backoff_ms(1) == pytest.approx(240)
    assert low.calls == [(0.8, 1.2)]
    # At the cap the jitter still applies, as Java's ExponentialBackoff does.
    assert ExponentialBackoff(100, 1000, random=high).backoff_ms(10) == pytest.approx(1200)


def test_a_max_below_the_initial_backoff_wins():
    backoff = ExponentialBackoff(500, 200, random=FixedRandom(0.5))
    assert backoff.backoff_ms(0) == backoff.backoff_ms(5) == 200


def test_real_randomness_stays_in_bounds():
    backoff = ExponentialBackoff(100, 1000)
    assert all(80 <= backoff.backoff_ms(0) <= 120 for _ in range(200))


@pytest.mark.parametrize("code", [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH,
                                  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE])
def test_leader_changes_are_retriable_and_refresh_metadata(code):
    assert is_retriable(code) and needs_metadata_refresh(code)


@pytest.mark.parametrize("code", [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR,
                                  ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS])
def test_transient_errors_are_retriable_without_new_metadata(code):
    assert is_retriable(code) and not needs_metadata_refresh(code)


@pytest.mark.parametrize("code", [ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.MESSAGE_TOO_LARGE,
                                  ErrorCode.INVALID_PARTITIONS, ErrorCode.REBALANCE_IN_PROGRESS,
                                  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                                  ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.NONE])
def test_permanent_errors_are_not_retriable(code):
    assert not is_retriable(code)


def test_admin_calls_do_not_wait_for_unknown_topics_to_appear():
    assert ErrorCode.UNKNOWN_TOPIC_OR_PARTITION in RETRIABLE
    assert ErrorCode.UNKNOWN_TOPIC_OR_PARTITION not in ADMIN_RETRIABLE
    assert ErrorCode.NOT_CONTROLLER in ADMIN_RETRIABLE


def _cluster(nursery, **options) -> Cluster:
    return Cluster(nursery, [("127.0.0.1", 9)], random=FixedRandom(0.5), **options)


class Flaky:
    """Fails with the given errors, one per call, then returns "ok"."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls_at = []

    async def __call__(self):
        self.calls_at.append(trio.current_time())
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retry_waits_the_backoff_and_refreshes_metadata(nursery, autojump_clock):
    cluster = _cluster(nursery)
    cluster._topic_fetched_at["t"] = trio.current_time()
    operation = Flaky(KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER),
                      KafkaConnectionError("broker went away"),
                      KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS))
    assert await cluster.retry(operation) == "ok"
    gaps = [round(b - a, 3) for a, b in zip(operation.calls_at, operation.calls_at[1:])]
    assert gaps == [0.1, 0.2, 0.4]
    assert "t" not in cluster._topic_fetched_at  # stale metadata forgotten


async def test_retry_raises_non_retriable_errors_at_once(nursery, autojump_clock):
    operation = Flaky(KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS))
    with pytest.raises(KafkaError) as info:
        await _cluster(nursery).retry(operation)
    assert info.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
    assert len(operation.calls_at) == 1


async def test_retry_gives_up_at_the_api_timeout_with_the_last_error(nursery, autojump_clock):
    operation = Flaky(*[KafkaError(ErrorCode.NOT_COORDINATOR)] * 100)
    start = trio.current_time()
    with pytest.raises(KafkaError) as info:
        await _cluster(nursery, default_api_timeout_ms=3000).retry(operation)
    assert info.value.code == ErrorCode.NOT_COORDINATOR
    # 0.1 + 0.2 + 0.4 + 0.8 + 1.0 = 2.5 s; the next 1 s wait would pass 3 s.
    assert trio.current_time() - start == pytest.approx(2.5)
    assert len(operation.calls_at) == 6


def test_connection_options_read_kafka_keys_with_defaults():
    options = connection_options({"bootstrap.servers": "a:1,b:2", "request.timeout.ms": "5000",
                                  "client.id": "lab", "acks": "all"})
    assert options["bootstrap_servers"] == "a:1,b:2"
    assert options["request_timeout_ms"] == 5000
    assert options["client_id"] == "lab"
    assert options["metadata_max_age_ms"] == 300_000
    assert (options["retry_backoff_ms"], options["retry_backoff_max_ms"]) == (100, 1000)
    assert options["connection_setup_timeout_ms"] == 10_000
    assert "acks" not in options  # the producer's, not the connection's
    with pytest.raises(ValueError):
        connection_options({"client.id": "x"})
