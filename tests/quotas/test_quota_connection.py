"""ConnectionQuotas: max.connections, per-IP limits and overrides, creation rates."""

import pytest

from minikafka.quotas.connection import AcceptAction, ConnectionQuotas, parse_max_connections_per_ip_overrides
from minikafka.quotas.entity import CONNECTION_CREATION_RATE, QuotaTable, make_entity

ACCEPT, WAIT, REFUSE, THROTTLE = AcceptAction.ACCEPT, AcceptAction.WAIT, AcceptAction.REFUSE, AcceptAction.THROTTLE


def test_per_ip_limit_refuses_and_frees_on_close():
    quotas = ConnectionQuotas(max_connections_per_ip=2)
    assert [quotas.on_accept("10.0.0.1", 0).action for _ in range(3)] == [ACCEPT, ACCEPT, REFUSE]
    assert quotas.on_accept("10.0.0.2", 0).action is ACCEPT
    assert quotas.connection_count("10.0.0.1") == 2 and quotas.connection_count() == 3
    quotas.on_close("10.0.0.1")
    assert quotas.on_accept("10.0.0.1", 0).action is ACCEPT


def test_overrides_win_over_the_per_ip_default():
    assert parse_max_connections_per_ip_overrides("hostName:100, 127.0.0.1:200") == {"hostName": 100, "127.0.0.1": 200}
    with pytest.raises(ValueError):
        parse_max_connections_per_ip_overrides("127.0.0.1")
    quotas = ConnectionQuotas(
        max_connections_per_ip=0,
        max_connections_per_ip_overrides="127.0.0.1:1,broker-host:3",
        host_resolver=lambda host: {"broker-host": "10.0.0.9"}.get(host, host),
    )
    assert [quotas.on_accept("127.0.0.1", 0).action for _ in range(2)] == [ACCEPT, REFUSE]
    assert [quotas.on_accept("10.0.0.9", 0).action for _ in range(4)] == [ACCEPT] * 3 + [REFUSE]
    assert quotas.on_accept("10.0.0.1", 0).action is REFUSE
    quotas.update(max_connections_per_ip_overrides="")
    assert quotas.on_accept("127.0.0.1", 0).action is REFUSE


def test_max_connections_waits_for_a_slot():
    quotas = ConnectionQuotas(max_connections=1)
    assert quotas.on_accept("10.0.0.1", 0).action is ACCEPT
    waiting = quotas.on_accept("10.0.0.2", 0)
    assert (waiting.action, waiting.delay_ms) == (WAIT, 0)
    assert not quotas.slot_available()
    assert quotas.admit("10.0.0.2", 5).action is WAIT
    quotas.on_close("10.0.0.1")
    assert quotas.slot_available()
    assert quotas.admit("10.0.0.2", 10).action is ACCEPT


def test_protected_listener_skips_the_broker_wide_limits():
    quotas = ConnectionQuotas(max_connections=1, max_connection_creation_rate=1)
    assert quotas.on_accept("10.0.0.1", 0).action is ACCEPT
    assert quotas.on_accept("10.0.0.2", 0, protected=True).action is ACCEPT


def test_lowering_max_connections_reports_the_excess():
    quotas = ConnectionQuotas()
    for _ in range(3):
        quotas.on_accept("10.0.0.1", 0)
    quotas.update(max_connections=2)
    assert quotas.max_connections_exceeded()
    quotas.on_close("10.0.0.1")
    assert not quotas.max_connections_exceeded()


def test_broker_creation_rate_delays_the_accept():
    quotas = ConnectionQuotas(max_connection_creation_rate=2, num_samples=11, window_ms=1000)
    assert [quotas.on_accept("10.0.0.1", 0).action for _ in range(20)] == [ACCEPT] * 20
    # 21 connections over the 10 s minimum window: 2.1/s; (2.1 - 2) / 2 * 10000 = 500 ms.
    delayed = quotas.on_accept("10.0.0.1", 0)
    assert (delayed.action, delayed.delay_ms) == (WAIT, 500)
    assert quotas.admit("10.0.0.1", 500).action is ACCEPT
    assert quotas.connection_creation_rate(500) == pytest.approx(21 / 10.5)


def test_broker_creation_delay_is_at_most_one_window():
    quotas = ConnectionQuotas(max_connection_creation_rate=1, num_samples=2, window_ms=1000)
    quotas.on_accept("10.0.0.1", 0)
    # 2 connections over 1 s: 2/s, (2 - 1) / 1 * 1000 = 1000 ms; the third: 3/s -> 2000, capped at 1000.
    assert quotas.on_accept("10.0.0.1", 0).delay_ms == 1000
    assert quotas.on_accept("10.0.0.1", 0).delay_ms == 1000


def test_ip_creation_rate_quota_throttles_and_takes_the_connection_back():
    table = QuotaTable({
        make_entity(ip="10.0.0.1"): {CONNECTION_CREATION_RATE: 1},
        make_entity(ip=None): {CONNECTION_CREATION_RATE: 100},
    })
    quotas = ConnectionQuotas(table, num_samples=11, window_ms=1000)
    assert [quotas.on_accept("10.0.0.1", 0).action for _ in range(10)] == [ACCEPT] * 10
    # 11 over 10 s = 1.1/s: (1.1 - 1) / 1 * 10000 = 1000 ms (one window, the cap).
    throttled = quotas.on_accept("10.0.0.1", 0)
    assert (throttled.action, throttled.delay_ms) == (THROTTLE, 1000)
    assert quotas.connection_count("10.0.0.1") == 10
    # Taken back: the IP's rate and the broker's rate are 10 connections, not 11.
    assert quotas.connection_creation_rate(0, "10.0.0.1") == pytest.approx(1.0)
    assert quotas.connection_creation_rate(0) == pytest.approx(1.0)
    assert quotas.on_accept("10.0.0.2", 0).action is ACCEPT  # default IP quota: 100/s
    # At 10 s the ten are still in the window (11 over 10 s again); at 11 s they are purged.
    assert quotas.on_accept("10.0.0.1", 10_000).action is THROTTLE
    assert quotas.on_accept("10.0.0.1", 11_000).action is ACCEPT


def test_closing_an_unknown_address_is_an_error():
    with pytest.raises(ValueError):
        ConnectionQuotas().on_close("10.0.0.1")
