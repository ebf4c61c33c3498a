"""Windowed statistics against numbers worked out by hand from Kafka's Rate, SampledStat and TokenBucket."""

import math

import pytest

from minikafka.quotas.sensor import Avg, Max, Rate, SimpleRate, TokenBucket, java_round, throttle_time_ms


def test_first_recording_is_divided_by_num_samples_minus_one_windows():
    rate = Rate(11, 1000)
    rate.record(1000, 0)
    # elapsed 0 ms, 0 full windows < 10: the window is 10 * 1000 ms.
    assert rate.window_size_ms(0) == 10_000
    assert rate.measure(0) == pytest.approx(100.0)


def test_partial_window_is_added_to_the_minimum():
    rate = Rate(11, 1000)
    rate.record(500, 0)
    rate.record(500, 500)
    # elapsed 500 ms, no full window: 500 + 10 * 1000 = 10500 ms.
    assert rate.window_size_ms(500) == 10_500
    assert rate.measure(500) == pytest.approx(1000 / 10.5)


def test_full_history_uses_the_elapsed_time_and_the_ring_reuses_the_oldest_slot():
    rate = Rate(11, 1000)
    for second in range(11):
        rate.record(100, second * 1000)
    # samples start at 0..10000: elapsed 10000 ms = 10 full windows.
    assert rate.measure(10_000) == pytest.approx(1100 / 10)
    rate.record(100, 11_000)  # the twelfth slot (num_samples + 1)
    # The sample of t=0 had its last event 11000 ms ago: purged. 1000..11000 remain.
    assert rate.window_size_ms(11_000) == 10_000
    assert rate.measure(11_000) == pytest.approx(1100 / 10)
    rate.record(100, 12_000)  # wraps around to the first slot
    assert rate.window_size_ms(12_000) == 10_000
    assert rate.measure(12_000) == pytest.approx(1100 / 10)


def test_samples_without_events_for_num_samples_windows_are_purged():
    rate = Rate(11, 1000)
    rate.record(1000, 0)
    # 10999 ms later the sample is still in: 10 full windows elapsed.
    assert rate.measure(10_999) == pytest.approx(1000 / 10.999)
    # 11000 ms after its last event it is reset: nothing left.
    assert rate.measure(11_000) == 0.0


def test_a_sample_overlapping_the_window_is_kept():
    rate = Rate(11, 1000)
    rate.record(10, 0)
    rate.record(10, 999)  # same sample (999 - 0 < 1000): its last event is at 999
    # 11500 - 999 < 11000: kept, and the window starts at its start (0).
    assert rate.window_size_ms(11_500) == 11_500
    assert rate.measure(11_500) == pytest.approx(20 / 11.5)


def test_window_is_at_least_one_millisecond():
    rate = Rate(1, 1000)
    rate.record(5, 0)
    assert rate.window_size_ms(0) == 1
    assert rate.measure(0) == pytest.approx(5000.0)


def test_simple_rate_uses_the_elapsed_time_at_least_one_window():
    rate = SimpleRate(11, 1000)
    rate.record(1000, 0)
    assert rate.measure(500) == pytest.approx(1000.0)  # max(500, 1000) ms
    assert rate.measure(2000) == pytest.approx(500.0)


def test_throttle_time_formula_and_java_rounding():
    # O = 1500, T = 1000, W = 10 s: X = (O - T) / T * W = 5000 ms.
    assert throttle_time_ms(1500, 1000, 10_000) == 5000
    assert throttle_time_ms(1000.25, 1000, 10_000) == 3  # 2.5 rounds half up
    assert java_round(2.5) == 3
    assert java_round(-2.5) == -2
    assert java_round(2.4999) == 2


def test_avg_and_max_are_nan_when_empty():
    avg, biggest = Avg(2, 30_000), Max(2, 30_000)
    assert math.isnan(avg.measure(0)) and math.isnan(biggest.measure(0))
    for value, now in ((100, 0), (300, 10), (200, 40_000)):
        avg.record(value, now)
        biggest.record(value, now)
    assert avg.measure(40_000) == pytest.approx(200.0)
    assert biggest.measure(40_000) == 300
    # 60 s after their last event, the first sample's values are purged.
    assert avg.measure(60_010) == pytest.approx(200.0)
    assert biggest.measure(60_010) == 200


def test_token_bucket_starts_full_goes_negative_and_refills():
    bucket = TokenBucket(2, 11, 1000)
    assert bucket.burst == 22
    bucket.record(30, 0)  # full (22) minus 30
    assert bucket.measure(0) == pytest.approx(-8)
    assert bucket.throttle_time_ms(0) == 4000  # 8 tokens at 2 per second
    assert bucket.measure(1000) == pytest.approx(-6)
    assert bucket.throttle_time_ms(1000) == 3000
    assert bucket.measure(60_000) == pytest.approx(22)  # capped at the burst
    assert bucket.throttle_time_ms(60_000) == 0


def test_token_bucket_keeps_its_tokens_when_the_quota_changes():
    bucket = TokenBucket(10, 11, 1000)
    bucket.record(100, 0)  # 110 - 100 = 10
    bucket.set_quota(1)  # burst 11
    assert bucket.measure(0) == pytest.approx(10)
    assert bucket.measure(5000) == pytest.approx(11)
