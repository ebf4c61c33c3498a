"""``minikafka configs --entity-type client-metrics``: subscriptions from the command line."""

from __future__ import annotations

import pytest

from minikafka.testing import BrokerThread
from tests.integration.cli.in_process import fails, ok


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with BrokerThread(tmp_path_factory.mktemp("data")) as running:
        yield running


def test_set_describe_and_delete_a_subscription(broker):
    out = ok("configs", "--bootstrap-server", broker.bootstrap, "--alter", "--entity-type", "client-metrics",
             "--entity-name", "apps", "--add-config",
             "metrics=[org.apache.kafka.producer.,org.apache.kafka.consumer.],interval.ms=1000")
    assert out == "Completed updating config for client-metric apps.\n"
    out = ok("configs", "--bootstrap-server", broker.bootstrap, "--describe", "--entity-type", "client-metrics",
             "--entity-name", "apps")
    assert out.splitlines() == [
        "Dynamic configs for client-metric apps are:",
        "  interval.ms=1000 sensitive=false synonyms={}",
        "  metrics=org.apache.kafka.producer.,org.apache.kafka.consumer. sensitive=false synonyms={}",
    ]
    ok("configs", "--bootstrap-server", broker.bootstrap, "--alter", "--entity-type", "client-metrics",
       "--entity-name", "apps", "--delete-config", "interval.ms")
    out = ok("configs", "--bootstrap-server", broker.bootstrap, "--describe", "--entity-type", "client-metrics",
             "--entity-name", "apps")
    assert "interval.ms" not in out and "metrics=" in out


def test_a_bad_match_pattern_is_the_brokers_error(broker):
    err = fails("configs", "--bootstrap-server", broker.bootstrap, "--alter", "--entity-type", "client-metrics",
                "--entity-name", "bad", "--add-config", "match=[client_name=x]")
    assert "Illegal client matching pattern: client_name=x" in err and "INVALID_CONFIG" in err
