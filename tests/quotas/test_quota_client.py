"""ClientQuotaManager: Kafka's throttle formula, request-time percentage, sensors shared by tags."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka.quotas.client import DOUBLE_MAX_VALUE, INACTIVE_SENSOR_EXPIRATION_MS, ClientQuotaManager, QuotaType
from minikafka.quotas.entity import (
    CONSUMER_BYTE_RATE,
    PRODUCER_BYTE_RATE,
    REQUEST_PERCENTAGE,
    QuotaTable,
    make_entity,
)

U = "ANONYMOUS"


def manager(quota_type, entries=None, num_samples=11, window_ms=1000):
    table = QuotaTable(entries or {})
    return table, ClientQuotaManager(quota_type, table, num_samples, window_ms)


def test_disabled_without_a_quota_of_its_type():
    table, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {CONSUMER_BYTE_RATE: 1}})
    assert not produce.enabled
    assert produce.record_and_get_throttle_ms(U, "c", 10**9, 0) == 0
    assert produce.client_metrics(0) == []
    assert produce.max_value_in_window(U, "c", 0) == DOUBLE_MAX_VALUE
    table.replace({make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1}})
    assert produce.enabled


def test_throttle_is_the_time_to_come_back_under_the_quota():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000}})
    # 12000 bytes over the minimum window of 10 s: 1200 B/s; (1200 - 1000) / 1000 * 10000 ms.
    assert produce.record_and_get_throttle_ms(U, "c", 12_000, 0) == 2000


def test_steady_overload_is_throttled_from_the_eleventh_recording():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000}})
    throttles = [produce.record_and_get_throttle_ms(U, "c", 1000, n * 100) for n in range(11)]
    # n = 9: 10000 B over 900 + 10000 ms < 1000 B/s.  n = 10: 11000 B over 1000 + 9000 ms = 1100 B/s,
    # throttle (1100 - 1000) / 1000 * 10000 = 1000 ms.
    assert throttles == [0] * 10 + [1000]


def test_byte_rate_throttle_is_not_capped_but_request_throttle_is_one_window():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 100}})
    assert produce.record_and_get_throttle_ms(U, "c", 10_000, 0) == 90_000  # 1000 B/s vs 100
    _, request = manager(QuotaType.REQUEST, {make_entity(user=None): {REQUEST_PERCENTAGE: 50}})
    # 7 s of thread time = 700 %, over 10 s = 70 %/s: (70 - 50) / 50 * 10000 = 4000, capped at 1000.
    assert request.record_request_time(U, "c", 7_000_000_000, 0) == 1000


def test_request_time_is_recorded_as_percent_of_a_thread():
    _, request = manager(QuotaType.REQUEST, {make_entity(user=None): {REQUEST_PERCENTAGE: 50}})
    assert request.record_request_time(U, "c", 2_000_000_000, 0) == 0  # 200 %
    [metric] = request.client_metrics(0)
    assert metric.rate == pytest.approx(20.0)  # 200 % over 10 s
    assert (metric.user, metric.client_id, metric.limit) == (U, "", 50.0)


def test_clients_of_one_user_share_the_user_quota():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(user=U): {PRODUCER_BYTE_RATE: 1000}})
    assert produce.record_and_get_throttle_ms(U, "c1", 6000, 0) == 0
    assert produce.record_and_get_throttle_ms(U, "c2", 6000, 0) == 2000  # 12000 B on one sensor


def test_client_id_quotas_measure_each_client_apart():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000}})
    assert produce.record_and_get_throttle_ms(U, "c1", 6000, 0) == 0
    assert produce.record_and_get_throttle_ms(U, "c2", 6000, 0) == 0
    assert sorted(m.client_id for m in produce.client_metrics(0)) == ["c1", "c2"]


def test_client_without_quota_is_measured_but_never_throttled():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id="other"): {PRODUCER_BYTE_RATE: 1}})
    assert produce.record_and_get_throttle_ms(U, "c", 10**9, 0) == 0
    [metric] = produce.client_metrics(0)
    assert metric.limit is None and metric.rate == pytest.approx(10**8)


def test_unrecord_takes_a_fetch_back():
    _, fetch = manager(QuotaType.FETCH, {make_entity(client_id=None): {CONSUMER_BYTE_RATE: 1000}})
    assert fetch.record_and_get_throttle_ms(U, "c", 12_000, 0) == 2000
    fetch.unrecord(U, "c", 12_000, 0)
    assert fetch.record_and_get_throttle_ms(U, "c", 1000, 0) == 0
    assert fetch.client_metrics(0)[0].rate == pytest.approx(100.0)


def test_max_value_in_window_is_limit_times_all_but_one_window():
    _, fetch = manager(QuotaType.FETCH, {make_entity(client_id="c"): {CONSUMER_BYTE_RATE: 1000}}, 11, 2000)
    assert fetch.max_value_in_window(U, "c", 0) == 1000 * 10 * 2
    assert fetch.max_value_in_window(U, "other", 0) == DOUBLE_MAX_VALUE
    assert min(1024, int(fetch.max_value_in_window(U, "other", 0))) == 1024


def test_throttle_time_metric_averages_the_throttles_given():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000}})
    produce.record_and_get_throttle_ms(U, "c", 1, 0)
    assert produce.client_metrics(0)[0].throttle_time_ms == 0.0
    produce.record_throttle_time(U, "c", 100, 0)
    produce.record_throttle_time(U, "c", 300, 10)
    produce.record_throttle_time(U, "c", 0, 20)  # not a throttle: not recorded
    assert produce.client_metrics(20)[0].throttle_time_ms == pytest.approx(200.0)


def test_a_new_quota_applies_to_the_measured_history():
    table, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 10_000}})
    assert produce.record_and_get_throttle_ms(U, "c", 12_000, 0) == 0
    table.replace({make_entity(client_id="c"): {PRODUCER_BYTE_RATE: 1000}})
    assert produce.quota(U, "c") == 1000
    assert produce.client_metrics(0)[0].limit == 1000
    # 12001 B over 10 s against 1000 B/s: (1200.1 - 1000) / 1000 * 10000 = 2001 ms.
    assert produce.record_and_get_throttle_ms(U, "c", 1, 0) == 2001
    table.replace({})
    assert not produce.enabled
    assert produce.record_and_get_throttle_ms(U, "c", 10**9, 0) == 0


def test_sensors_expire_after_an_hour_without_recordings():
    _, produce = manager(QuotaType.PRODUCE, {make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000}})
    produce.record_and_get_throttle_ms(U, "c", 1, 0)
    assert len(produce.client_metrics(INACTIVE_SENSOR_EXPIRATION_MS)) == 1
    assert produce.client_metrics(INACTIVE_SENSOR_EXPIRATION_MS + 1) == []
    assert produce.record_and_get_throttle_ms(U, "c", 1, INACTIVE_SENSOR_EXPIRATION_MS + 2) == 0
    assert len(produce.client_metrics(INACTIVE_SENSOR_EXPIRATION_MS + 2)) == 1


def test_exempt_time_is_measured_apart():
    _, request = manager(QuotaType.REQUEST, {make_entity(user=None): {REQUEST_PERCENTAGE: 50}})
    request.record_exempt(1_000_000_000, 0)
    assert request.exempt_request_time(0) == pytest.approx(10.0)
    assert request.client_metrics(0) == []


# --- property: a recording lands on the sensor named by the tags resolved at that moment ----------

_USERS, _CLIENTS = ["alice", "bob", None], ["c1", "c2", None]
_entities = st.one_of(
    st.builds(lambda u: make_entity(user=u), st.sampled_from(_USERS)),
    st.builds(lambda c: make_entity(client_id=c), st.sampled_from(_CLIENTS)),
    st.builds(lambda u, c: make_entity(user=u, client_id=c), st.sampled_from(_USERS), st.sampled_from(_CLIENTS)),
)
_tables = st.dictionaries(_entities, st.just({PRODUCER_BYTE_RATE: 100.0}), max_size=6)
_records = st.tuples(st.sampled_from(["alice", "bob", "carol"]), st.sampled_from(["c1", "c2", "c3"]),
                     st.integers(1, 1000))
_steps = st.lists(st.one_of(_tables, _records), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_tables, _steps)
def test_recordings_accumulate_on_the_sensor_of_their_tags(first_table, steps):
    table, produce = manager(QuotaType.PRODUCE, first_table)
    expected: dict[tuple[str, str], float] = {}
    for step in steps:
        if isinstance(step, dict):
            table.replace(step)
            continue
        user, client_id, value = step
        produce.record_and_get_throttle_ms(user, client_id, value, 0)
        if produce.enabled:
            tags = table.resolve(user, client_id, PRODUCER_BYTE_RATE).metric_tags
            expected[tags] = expected.get(tags, 0) + value
    measured = {(m.user, m.client_id): m.rate * 10 for m in produce.client_metrics(0)}
    assert measured == pytest.approx(expected)
