"""Replication throttles: the throttled-replica list and the leader/follower byte-rate cap."""

import pytest

from minikafka.quotas.replication import (
    ALL,
    UNLIMITED_RATE,
    ReplicationQuotaManager,
    parse_throttled_replicas,
    validate_throttled_replicas,
)


@pytest.mark.parametrize(
    ("value", "broker_id", "expected"),
    [
        ("0:101,0:102,1:101,1:102", 102, {0, 1}),
        ("0:101,0:102,1:101,1:102", 103, set()),
        ("*", 102, ALL),
        ("* ", 102, ALL),
        ("", 102, set()),
        (" ", 102, set()),
        ("6:102", 102, {6}),
        (" 6:102 ", 102, {6}),
        ("0:1, 1:1 ,2:2", 1, {0, 1}),
    ],
)
def test_parse_throttled_replicas(value, broker_id, expected):
    assert parse_throttled_replicas(value, broker_id) == expected


@pytest.mark.parametrize("value", ["foo", "0:101,*", "0-101", "0:", "*,*", "-1:1"])
def test_malformed_lists_are_refused_with_kafkas_message(value):
    with pytest.raises(ValueError, match="must be the literal '\\*' or a list of replicas"):
        validate_throttled_replicas("leader.replication.throttled.replicas", value)


def test_is_throttled_follows_mark_and_remove():
    quota = ReplicationQuotaManager(1000, 11, 1000)
    assert not quota.is_throttled("t", 0)
    quota.mark_throttled("t", {0, 2})
    assert quota.is_throttled("t", 2) and not quota.is_throttled("t", 1)
    quota.mark_throttled("t")
    assert quota.is_throttled("t", 1)
    quota.remove_throttle("t")
    assert not quota.is_throttled("t", 0)


def test_quota_exceeded_uses_the_elapsed_time_at_least_one_window():
    quota = ReplicationQuotaManager(1000, 11, 1000)
    quota.record(1500, 0)
    assert quota.is_quota_exceeded(0)  # 1500 B over max(0, 1000) ms
    assert quota.byte_rate(500) == pytest.approx(1500.0)
    assert not quota.is_quota_exceeded(2000)  # 1500 B over 2 s
    quota.update_rate(500)
    assert quota.is_quota_exceeded(2000)
    assert quota.upper_bound == 500


def test_the_default_rate_never_throttles():
    quota = ReplicationQuotaManager(UNLIMITED_RATE, 11, 1000)
    quota.record(10**15, 0)
    assert not quota.is_quota_exceeded(0)
