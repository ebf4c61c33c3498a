"""Controller mutation quota (KIP-599): strict and permissive token buckets."""

import pytest

from minikafka.errors import ErrorCode
from minikafka.quotas.controller_mutation import (
    UNBOUNDED_CONTROLLER_MUTATION_QUOTA,
    ControllerMutationQuotaManager,
    ThrottlingQuotaExceededError,
)
from minikafka.quotas.entity import CONTROLLER_MUTATION_RATE, QuotaTable, make_entity

U = "ANONYMOUS"


def manager(rate=2.0):
    table = QuotaTable({make_entity(client_id=None): {CONTROLLER_MUTATION_RATE: rate}})
    return table, ControllerMutationQuotaManager(table, 11, 1000)


def test_without_a_quota_the_quota_is_unbounded():
    manager_ = ControllerMutationQuotaManager(QuotaTable(), 11, 1000)
    assert not manager_.enabled
    quota = manager_.new_quota(U, "c", True, 0)
    assert quota is UNBOUNDED_CONTROLLER_MUTATION_QUOTA
    quota.record(10**6)
    assert not quota.is_exceeded() and quota.throttle_time_ms(0) == 0


def test_strict_checks_before_recording():
    _, quotas = manager(2.0)  # burst 2 * 11 * 1 s = 22 partitions
    first = quotas.new_quota(U, "c", True, 0)
    first.record(30)  # the bucket was full: allowed, now -8
    assert not first.is_exceeded()
    assert quotas.tokens(U, "c", 0) == pytest.approx(-8)
    second = quotas.new_quota(U, "c", True, 0)
    with pytest.raises(ThrottlingQuotaExceededError) as refused:
        second.record(1)
    assert refused.value.code == ErrorCode.THROTTLING_QUOTA_EXCEEDED
    assert refused.value.throttle_time_ms == 4000  # 8 tokens at 2 per second
    assert second.is_exceeded()
    assert second.throttle_time_ms() == 4000
    assert second.throttle_time_ms(1500) == 2500  # what is left 1.5 s later
    assert second.throttle_time_ms(9000) == 0
    assert quotas.tokens(U, "c", 0) == pytest.approx(-8)  # the refused topic was not recorded


def test_strict_accepts_again_once_the_bucket_is_back_at_zero():
    _, quotas = manager(2.0)
    quotas.new_quota(U, "c", True, 0).record(30)
    quota = quotas.new_quota(U, "c", True, 4000)
    quota.record(5)  # refilled to exactly 0 at t=4000: not negative
    assert quotas.tokens(U, "c", 4000) == pytest.approx(-5)


def test_permissive_records_and_only_throttles():
    _, quotas = manager(2.0)
    quota = quotas.new_quota(U, "c", False, 0)
    quota.record(30)
    assert not quota.is_exceeded()
    assert quota.throttle_time_ms(0) == 4000
    quota.record(5)  # never refused: -13
    assert quota.throttle_time_ms(0) == 6500


def test_record_and_get_throttle_ms_and_metrics():
    table, quotas = manager(2.0)
    assert quotas.record_and_get_throttle_ms(U, "c", 30, 0) == 0
    assert quotas.record_and_get_throttle_ms(U, "c", 1, 0) == 4000
    quotas.record_throttle_time(U, "c", 4000, 0)
    [metric] = quotas.client_metrics(0)
    assert (metric.user, metric.client_id, metric.limit) == ("", "c", 2.0)
    assert metric.rate == pytest.approx(3.0)  # 30 partitions over the 10 s minimum window
    assert metric.throttle_time_ms == 4000
    table.replace({make_entity(client_id=None): {CONTROLLER_MUTATION_RATE: 4.0}})
    # The bucket keeps its -8 tokens and now refills at 4 per second.
    assert quotas.record_and_get_throttle_ms(U, "c", 1, 0) == 2000
    table.replace({})
    assert quotas.new_quota(U, "c", True, 0) is UNBOUNDED_CONTROLLER_MUTATION_QUOTA
    assert quotas.client_metrics(0) == []
