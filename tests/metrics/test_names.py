"""Kafka's JMX names, and the Prometheus names the JMX exporter's example Kafka rules give them: each rule once."""

from __future__ import annotations

import pytest

from minikafka.metrics import MetricName
from minikafka.metrics.exporter import apply_rules, attribute_string, prometheus_name, safe_name


def sample(name: MetricName, attribute: str, value: float = 1.0):
    found = apply_rules(name, attribute, value)
    assert found is not None, attribute_string(name, attribute)
    return found.name, found.type, found.labels


def test_the_jmx_form():
    assert MetricName("kafka.server", "ReplicaManager", "UnderReplicatedPartitions").jmx == \
        "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions"
    name = MetricName("kafka.server", "BrokerTopicMetrics", "BytesInPerSec", (("topic", "orders"),))
    assert name.jmx == "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=orders"
    assert str(name) == name.jmx and name.tag("topic") == "orders" and name.tag("partition") is None
    assert MetricName("kafka.log", "Log", "Size", {"topic": "t", "partition": 0}).jmx == \
        "kafka.log:type=Log,name=Size,topic=t,partition=0"
    raft = MetricName("kafka.server", "raft-metrics", "current-leader", kafka_metric=True)
    assert (raft.mbean, raft.jmx) == ("kafka.server:type=raft-metrics", "kafka.server:type=raft-metrics/current-leader")


def test_names_are_values():
    a = MetricName("kafka.log", "Log", "Size", (("topic", "t"), ("partition", 0)))
    b = MetricName("kafka.log", "Log", "Size", {"topic": "t", "partition": "0"})
    assert a == b and hash(a) == hash(b)


def test_the_string_the_rules_match():
    name = MetricName("kafka.network", "RequestMetrics", "RequestsPerSec", (("request", "Produce"), ("version", 9)))
    assert attribute_string(name, "Count") == \
        "kafka.network<type=RequestMetrics, name=RequestsPerSec, request=Produce, version=9><>Count"


# -- the special cases -----------------------------------------------------------------------

def test_fetcher_lag_by_client_topic_partition():
    name = MetricName("kafka.server", "FetcherLagMetrics", "ConsumerLag",
                      (("clientId", "ReplicaFetcherThread-0-1"), ("topic", "orders"), ("partition", 0)))
    assert sample(name, "Value") == ("kafka_server_fetcherlagmetrics_consumerlag", "gauge",
                                     {"clientId": "ReplicaFetcherThread-0-1", "topic": "orders", "partition": "0"})


def test_a_gauge_by_client_and_broker_host_port():
    name = MetricName("kafka.server", "FetcherStats", "ConnectionCount",
                      (("clientId", "ReplicaFetcherThread-0-2"), ("brokerHost", "localhost"), ("brokerPort", 9093)))
    assert sample(name, "Value") == ("kafka_server_fetcherstats_connectioncount", "gauge",
                                     {"clientId": "ReplicaFetcherThread-0-2", "broker": "localhost:9093"})


def test_coordinator_gauges():
    name = MetricName("kafka.coordinator.group", "GroupMetadataManager", "NumGroups")
    assert sample(name, "Value") == ("kafka_coordinator_group_groupmetadatamanager_numgroups", "gauge", {})


# -- per-second counters (meters) ----------------------------------------------------------------

def test_meters_with_two_one_and_no_tags():
    requests = MetricName("kafka.network", "RequestMetrics", "RequestsPerSec", (("request", "Produce"), ("version", 9)))
    assert sample(requests, "Count") == ("kafka_network_requestmetrics_requests_total", "counter",
                                         {"request": "Produce", "version": "9"})
    bytes_in = MetricName("kafka.server", "BrokerTopicMetrics", "BytesInPerSec", (("topic", "orders"),))
    assert sample(bytes_in, "Count") == ("kafka_server_brokertopicmetrics_bytesin_total", "counter",
                                         {"topic": "orders"})
    shrinks = MetricName("kafka.server", "ReplicaManager", "IsrShrinksPerSec")
    assert sample(shrinks, "Count") == ("kafka_server_replicamanager_isrshrinks_total", "counter", {})
    assert prometheus_name(shrinks) == "kafka_server_replicamanager_isrshrinks_total"


def test_a_meters_rates_are_not_exported():
    shrinks = MetricName("kafka.server", "ReplicaManager", "IsrShrinksPerSec")
    for attribute in ("OneMinuteRate", "FiveMinuteRate", "FifteenMinuteRate", "MeanRate"):
        assert apply_rules(shrinks, attribute, 1.0) is None


# -- quotas -----------------------------------------------------------------------------------

def test_quota_metrics_by_client_id_and_by_user_and_client_id():
    by_client = MetricName("kafka.server", "Produce", "byte-rate", (("client-id", "app"),), kafka_metric=True)
    assert sample(by_client, "byte-rate") == ("kafka_server_quota_byte_rate", "gauge",
                                              {"resource": "Produce", "clientId": "app"})
    # The user + client-id rule comes second, and the first one's greedy ``type=(.+)`` already
    # matches ``type=Fetch, user=alice``: the exporter folds the user into ``resource``, and so do we.
    by_user = MetricName("kafka.server", "Fetch", "throttle-time", (("user", "alice"), ("client-id", "app")),
                         kafka_metric=True)
    assert sample(by_user, "throttle-time") == ("kafka_server_quota_throttle_time", "gauge",
                                                {"resource": "Fetch, user=alice", "clientId": "app"})
    # (So the user + client-id rule never wins: every string it matches, the first one matches too.)


# -- gauges -----------------------------------------------------------------------------------

def test_gauges_with_two_one_and_no_tags():
    size = MetricName("kafka.log", "Log", "Size", (("topic", "orders"), ("partition", 3)))
    assert sample(size, "Value") == ("kafka_log_log_size", "gauge", {"topic": "orders", "partition": "3"})
    purgatory = MetricName("kafka.server", "DelayedOperationPurgatory", "PurgatorySize",
                           (("delayedOperation", "Produce"),))
    assert sample(purgatory, "Value") == ("kafka_server_delayedoperationpurgatory_purgatorysize", "gauge",
                                          {"delayedOperation": "Produce"})
    urp = MetricName("kafka.server", "ReplicaManager", "UnderReplicatedPartitions")
    assert sample(urp, "Value") == ("kafka_server_replicamanager_underreplicatedpartitions", "gauge", {})
    assert prometheus_name(urp) == "kafka_server_replicamanager_underreplicatedpartitions"
    controllers = MetricName("kafka.controller", "KafkaController", "ActiveControllerCount")
    assert prometheus_name(controllers) == "kafka_controller_kafkacontroller_activecontrollercount"


# -- histograms as summaries ---------------------------------------------------------------------

@pytest.mark.parametrize("tags, labels", [
    ((("request", "Produce"), ("version", "9")), {"request": "Produce", "version": "9"}),
    ((("request", "Produce"),), {"request": "Produce"}),
    ((), {}),
])
def test_histogram_count_and_percentiles(tags, labels):
    name = MetricName("kafka.network", "RequestMetrics", "TotalTimeMs", tags)
    assert sample(name, "Count") == ("kafka_network_requestmetrics_totaltimems_count", "counter", labels)
    for attribute, quantile in (("50thPercentile", "0.50"), ("99thPercentile", "0.99"),
                                ("999thPercentile", "0.999")):
        assert sample(name, attribute) == ("kafka_network_requestmetrics_totaltimems", "gauge",
                                           {**labels, "quantile": quantile})
    assert apply_rules(name, "Max", 1.0) is None and apply_rules(name, "Mean", 1.0) is None


def test_a_counter_not_per_second_shows_its_count():
    name = MetricName("kafka.server", "SessionExpireListener", "ZooKeeperDisconnects")
    assert sample(name, "Count") == ("kafka_server_sessionexpirelistener_zookeeperdisconnects_count", "counter", {})


# -- minikafka's rule for Kafka-metrics attributes ------------------------------------------------

def test_kafka_metrics_attributes():
    leader = MetricName("kafka.server", "raft-metrics", "current-leader", kafka_metric=True)
    assert sample(leader, "current-leader") == ("kafka_server_raft_metrics_current_leader", "gauge", {})
    assert prometheus_name(leader) == "kafka_server_raft_metrics_current_leader"
    groups = MetricName("kafka.server", "group-coordinator-metrics", "group-count",
                        (("protocol", "consumer"),), kafka_metric=True)
    assert sample(groups, "group-count") == ("kafka_server_group_coordinator_metrics_group_count", "gauge",
                                             {"protocol": "consumer"})


def test_safe_names():
    assert safe_name("kafka_server_raft-metrics_current-leader") == "kafka_server_raft_metrics_current_leader"
    assert safe_name("a__b..c") == "a_b_c"
    assert safe_name("9lives") == "_9lives"
    assert safe_name("ok:name_1") == "ok:name_1"


def test_more_than_two_tags_come_out_mangled_as_with_the_exporter():
    name = MetricName("kafka.log", "Log", "Size", (("topic", "t"), ("partition", "0"), ("extra", "x")))
    assert sample(name, "Value") == ("kafka_log_log_size_topic_t", "gauge", {"partition": "0", "extra": "x"})
