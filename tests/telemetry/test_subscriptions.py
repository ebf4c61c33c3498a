"""Client-metrics subscriptions: parsing, matching, the union a client gets, its id."""

from __future__ import annotations

import pytest

from minikafka.config import ResourceType
from minikafka.errors import ErrorCode, KafkaError
from minikafka.telemetry.subscriptions import (
    DEFAULT_INTERVAL_MS,
    Subscription,
    subscription_set,
    subscriptions_from_image,
)

PRODUCER = {"client_id": "orders-app", "client_software_name": "confluent-kafka-python",
            "client_software_version": "2.16.2", "client_instance_id": "abc"}
ID = bytes(range(16))


def test_a_subscription_parses_its_three_keys():
    s = Subscription.from_configs("s", {"metrics": "org.apache.kafka.producer.,org.apache.kafka.consumer.",
                                        "interval.ms": "1000", "match": "client_id=orders-.*"})
    assert s.metrics == ("org.apache.kafka.producer.", "org.apache.kafka.consumer.")
    assert s.interval_ms == 1000
    assert s.matches(PRODUCER)
    assert not s.matches(dict(PRODUCER, client_id="billing"))


def test_every_match_pattern_must_fully_match():
    s = Subscription.from_configs("s", {"metrics": "*", "match": "client_id=orders,client_software_name=confluent.*"})
    assert not s.matches(PRODUCER)  # "orders" is a prefix of the id, not the whole id
    s = Subscription.from_configs("s", {"metrics": "*", "match": "client_id=orders.*,client_software_name=java"})
    assert not s.matches(PRODUCER)
    assert Subscription.from_configs("s", {"metrics": "*"}).matches(PRODUCER)  # no match: everyone


@pytest.mark.parametrize("configs, code", [
    ({"metric": "*"}, ErrorCode.INVALID_REQUEST),
    ({"interval.ms": "50"}, ErrorCode.INVALID_CONFIG),
    ({"match": "client_name=x"}, ErrorCode.INVALID_CONFIG),
    ({"match": "client_id"}, ErrorCode.INVALID_CONFIG),
    ({"match": "client_id=(["}, ErrorCode.INVALID_CONFIG),
])
def test_bad_configs_get_kafkas_errors(configs, code):
    with pytest.raises(KafkaError) as info:
        Subscription.from_configs("s", configs)
    assert info.value.code == code


def test_a_client_gets_the_union_at_the_smallest_interval():
    subs = [Subscription.from_configs("a", {"metrics": "org.apache.kafka.producer.", "interval.ms": "5000"}),
            Subscription.from_configs("b", {"metrics": "org.apache.kafka.consumer.", "interval.ms": "2000"}),
            Subscription.from_configs("c", {"metrics": "x.", "interval.ms": "100", "match": "client_id=other"})]
    got = subscription_set(subs, PRODUCER, ID)
    assert got.metrics == ("org.apache.kafka.consumer.", "org.apache.kafka.producer.")
    assert got.interval_ms == 2000
    assert got.requested_metrics == ["org.apache.kafka.consumer.", "org.apache.kafka.producer."]


def test_no_match_means_no_metrics_at_the_default_interval():
    got = subscription_set([], PRODUCER, ID)
    assert got.requested_metrics == [] and got.interval_ms == DEFAULT_INTERVAL_MS


def test_star_asks_for_every_metric():
    got = subscription_set([Subscription.from_configs("a", {"metrics": "*"})], PRODUCER, ID)
    assert got.requested_metrics == [""]


def test_the_subscription_id_changes_with_what_the_client_must_push():
    a = Subscription.from_configs("a", {"metrics": "*", "interval.ms": "1000"})
    first = subscription_set([a], PRODUCER, ID).subscription_id
    assert subscription_set([a], PRODUCER, ID).subscription_id == first
    b = Subscription.from_configs("a", {"metrics": "*", "interval.ms": "2000"})
    assert subscription_set([b], PRODUCER, ID).subscription_id != first
    assert subscription_set([a], PRODUCER, bytes(16)).subscription_id != first
    assert -2**31 <= first < 2**31


def test_subscriptions_come_from_the_images_client_metrics_resources():
    configs = {(ResourceType.TOPIC, "t"): {"retention.ms": "1"},
               (ResourceType.CLIENT_METRICS, "b"): {"metrics": "y."},
               (ResourceType.CLIENT_METRICS, "a"): {"metrics": "x."}}
    assert [s.name for s in subscriptions_from_image(configs, ResourceType.CLIENT_METRICS)] == ["a", "b"]
