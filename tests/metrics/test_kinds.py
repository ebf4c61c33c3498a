"""Yammer's readings: the EWMA rates of a meter (worked by hand), the percentiles of a histogram."""

from __future__ import annotations

import math

import pytest

from minikafka.metrics import EWMA, Counter, Gauge, Histogram, Meter, Timer
from minikafka.metrics.kinds import quantile_of


class FakeClock:
    """Monotonic seconds that move only when told; counts its reads."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


# -- the EWMA ------------------------------------------------------------------------

def test_alpha_is_yammers():
    # alpha = 1 - exp(-interval / 60 s / minutes), interval 5 s.
    assert EWMA(1).alpha == pytest.approx(1 - math.exp(-5 / 60))  # 0.0799555853...
    assert EWMA(1).alpha == pytest.approx(0.07995558537067671)
    assert EWMA(5).alpha == pytest.approx(1 - math.exp(-1 / 60))
    assert EWMA(15).alpha == pytest.approx(1 - math.exp(-1 / 180))


def test_three_events_then_a_quiet_minute():
    """3 events in the first 5 s: the rate starts at 3 / 5 = 0.6/s, then decays by (1 - alpha) a tick.

    After 12 quiet ticks (one minute) the one-minute rate is 0.6 * (1 - alpha)^12
    = 0.6 * exp(-1) = 0.22072766; the five-minute one 0.6 * exp(-1/5) = 0.49123845.
    """
    m1, m5, m15 = EWMA(1), EWMA(5), EWMA(15)
    for ewma in (m1, m5, m15):
        ewma.tick(3)
        assert ewma.rate == pytest.approx(0.6)
        for _ in range(12):
            ewma.tick(0)
    assert m1.rate == pytest.approx(0.22072766, abs=1e-8)
    assert m5.rate == pytest.approx(0.49123845, abs=1e-8)
    assert m15.rate == pytest.approx(0.6 * math.exp(-1 / 15), abs=1e-8)  # 0.56130419


def test_a_later_tick_moves_the_rate_by_alpha_of_the_difference():
    ewma = EWMA(1)
    ewma.tick(10)  # 2/s
    ewma.tick(30)  # instant 6/s: 2 + alpha * (6 - 2)
    assert ewma.rate == pytest.approx(2 + 0.07995558537067671 * 4)


def test_many_ticks_at_once_equal_as_many_single_ticks():
    for first in (False, True):
        one_by_one, at_once = EWMA(1), EWMA(1)
        if first:
            one_by_one.tick(7)
            at_once.tick(7)
        for _ in range(9):
            one_by_one.tick(40 / 9)
        at_once.tick_many(40, 9)
        assert at_once.rate == pytest.approx(one_by_one.rate)


# -- the meter -----------------------------------------------------------------------

def test_a_meter_marks_without_reading_the_clock():
    clock = FakeClock()
    meter = Meter(clock)
    reads = clock.reads
    for _ in range(1000):
        meter.mark()
    meter.mark(24)
    assert meter.count == 1024
    assert clock.reads == reads  # the hot path never reads the clock


def test_a_meter_ticks_lazily_when_read():
    clock = FakeClock()
    meter = Meter(clock)
    meter.mark(3)
    assert meter.one_minute_rate == 0.0  # no interval elapsed yet
    clock.now += 5
    assert meter.one_minute_rate == pytest.approx(0.6)
    assert meter.five_minute_rate == pytest.approx(0.6)
    clock.now += 60
    assert meter.one_minute_rate == pytest.approx(0.6 * math.exp(-1))
    assert meter.fifteen_minute_rate == pytest.approx(0.6 * math.exp(-1 / 15))
    assert meter.mean_rate == pytest.approx(3 / 65)


def test_a_steady_rate_read_rarely_is_the_rate():
    """Events counted since the last tick are spread evenly over the intervals since then."""
    clock = FakeClock()
    meter = Meter(clock)
    for _ in range(6):  # 10 events a second, read every 30 s
        meter.mark(300)
        clock.now += 30
        assert meter.one_minute_rate == pytest.approx(10.0)
    assert meter.mean_rate == pytest.approx(10.0)


def test_a_partial_interval_waits_for_the_next_read():
    clock = FakeClock()
    meter = Meter(clock)
    meter.mark(10)
    clock.now += 7.5  # one whole tick (at +5), 2.5 s into the next
    assert meter.one_minute_rate == pytest.approx(2.0)
    meter.mark(10)
    clock.now += 2.5  # the tick at +10
    assert meter.one_minute_rate == pytest.approx(2.0)  # 10 events in that interval, 2/s again


def test_mean_rate_is_zero_before_the_first_event():
    clock = FakeClock()
    meter = Meter(clock)
    clock.now += 10
    assert meter.mean_rate == 0.0


# -- the histogram -----------------------------------------------------------------------

def test_percentiles_are_yammers_interpolation():
    """Position q * (n + 1) in the sorted values, linear between its neighbours."""
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert quantile_of(values, 0.5) == 3.0   # pos 3.0: the 3rd value
    assert quantile_of(values, 0.75) == 4.5  # pos 4.5: half-way from 4 to 5
    assert quantile_of(values, 0.25) == 1.5  # pos 1.5
    assert quantile_of(values, 0.1) == 1.0   # pos 0.6 < 1: the smallest
    assert quantile_of(values, 0.99) == 5.0  # pos 5.94 >= 5: the largest
    assert quantile_of([], 0.99) == 0.0
    hundred = [float(v) for v in range(1, 101)]
    assert quantile_of(hundred, 0.95) == pytest.approx(95.95)  # pos 95.95: 95 + 0.95 * (96 - 95)
    assert quantile_of(hundred, 0.999) == 100.0


def test_a_histogram_keeps_the_last_values_and_counts_them_all():
    histogram = Histogram(size=4)
    for value in (5, 1, 9, 3, 7, 8, 10, 2):
        histogram.update(value)
    assert histogram.snapshot() == [2, 7, 8, 10]  # the last four
    assert (histogram.count, histogram.min, histogram.max) == (8, 1, 10)
    assert histogram.mean == pytest.approx(45 / 8)
    assert histogram.percentile(0.5) == 7.5
    assert histogram.percentiles((0.5, 0.99)) == {0.5: 7.5, 0.99: 10}


def test_an_empty_histogram_reads_zero():
    histogram = Histogram()
    assert (histogram.count, histogram.mean, histogram.percentile(0.99)) == (0, 0.0, 0.0)


def test_a_timer_is_a_histogram_and_a_meter_of_its_calls():
    clock = FakeClock()
    timer = Timer(clock)
    reads = clock.reads
    for ms in range(1, 11):
        timer.update(ms)
    assert clock.reads == reads
    clock.now += 5
    assert timer.count == 10 and timer.one_minute_rate == pytest.approx(2.0)
    assert timer.percentile(0.5) == 5.5 and timer.max == 10


def test_gauge_and_counter():
    state = {"v": 3}
    gauge = Gauge(lambda: state["v"])
    assert gauge.value == 3
    state["v"] = 4
    assert gauge.value == 4
    counter = Counter()
    counter.inc()
    counter.inc(5)
    counter.dec(2)
    assert counter.count == 4


def test_readings_are_the_mbean_attributes():
    from minikafka.metrics import readings

    clock = FakeClock()
    meter = Meter(clock)
    meter.mark(10)
    clock.now += 5
    assert readings(meter) == {"Count": 10, "MeanRate": 2.0, "OneMinuteRate": 2.0, "FiveMinuteRate": 2.0,
                               "FifteenMinuteRate": 2.0}
    histogram = Histogram()
    for value in (1, 2, 3, 4):
        histogram.update(value)
    found = readings(histogram)
    assert (found["Count"], found["Min"], found["Max"], found["Mean"]) == (4, 1, 4, 2.5)
    assert [key for key in found if key.endswith("Percentile")] == [
        "50thPercentile", "75thPercentile", "95thPercentile", "98thPercentile", "99thPercentile", "999thPercentile"]
    assert found["50thPercentile"] == 2.5 and found["999thPercentile"] == 4
    assert readings(Histogram())["Max"] == 0.0  # not -inf before the first value
    timer = Timer(clock)
    assert set(readings(timer)) == {*found, "MeanRate", "OneMinuteRate", "FiveMinuteRate", "FifteenMinuteRate"}
    assert readings(Gauge(lambda: None)) == {} and readings(Gauge(lambda: 7)) == {"Value": 7}
    assert readings(Counter()) == {"Count": 0}
