"""The admin handlers called directly, with requests and responses through the real codec.

A small fake broker (topic view, controller and config real, no Raft log,
partitions faked) keeps them fast. Every version of
every API is exercised, so a response field the declaration lacks, or a
value a version cannot carry, fails here.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.config import BrokerConfig, ConfigSource, ConfigType
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.handlers import (
    alter_configs, create_partitions, create_topics, delete_records, delete_topics,
    describe_cluster, describe_configs, describe_log_dirs, incremental_alter_configs,
)
from minikafka.protocol.messages import REQUESTS, RESPONSES
from minikafka.broker import Broker
from minikafka.metadata import ControllerConfig, MetadataImage, QuorumController
from minikafka.metadata.image import BROKER_RESOURCE
from minikafka.metadata.topics import TopicRegistry


class FakePartition:
    def __init__(self):
        self.log_start_offset, self.high_watermark = 0, 10
        self.log = type("Log", (), {"size_in_bytes": 1234})()

    def delete_records_before(self, offset):
        if offset == -1:
            offset = self.high_watermark
        if offset < 0 or offset > self.high_watermark:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE)
        self.log_start_offset = max(self.log_start_offset, offset)
        return self.log_start_offset


class FakeMetadata:
    """A controller and its image with no Raft log: records apply as they are
    written (a one-voter quorum commits them in the same step, too)."""

    def __init__(self, config, node_id):
        self.active_controller_id = node_id  # a one-voter quorum leads itself
        self.image = MetadataImage()
        self.controller = QuorumController(ControllerConfig.from_broker_config(config), self.image, 0)
        self.controller.bootstrap(0)
        self.controller.register_broker({"broker_id": node_id, "incarnation_id": b"i" * 16,
                                         "listeners": [{"name": "PLAINTEXT", "host": "localhost",
                                                        "port": 9092}]}, 0, metadata_offset=1)
        self.controller.broker_heartbeat({"broker_id": node_id, "broker_epoch": 1,
                                          "current_metadata_offset": 1}, 0)


class FakeBroker:
    """The slice of ``Broker`` the admin handlers use (see docs/architecture.md):
    the real topic view, controller and admin methods; partitions faked.

    ``services`` holds what the admin handlers are given; the services they
    never use (groups, replication, the quorum, producer ids) are None.
    """

    def __init__(self, tmp_path, **overrides):
        self.config = BrokerConfig({"log.dirs": str(tmp_path), **overrides})
        self.node_id = self.config.node_id
        self.cluster_id = "AAAAAAAAAAAAAAAAAAAAAA"
        self.metadata = FakeMetadata(self.config, self.node_id)
        self.topics = TopicRegistry(self.config, self.metadata, cluster_id=self.cluster_id,
                                    advertised_endpoint=self.advertised_endpoint)
        self.partitions = {}
        self.changed = []
        self._seen_configs = {}
        self._log_dir = str(tmp_path)
        self.services = BrokerServices(
            config=self.config, clock=None, metadata=self.topics, partitions=self, replicas=None,
            group_coordinator=None, topic_admin=self, forwarding=None, controller=None, quorum=None,
            fetch_sessions=None, producer_ids=None, api_keys=frozenset())

    create_topic = Broker.create_topic
    delete_topic = Broker.delete_topic
    add_partitions = Broker.add_partitions
    set_resource_configs = Broker.set_resource_configs

    async def _controller_call(self, operation, request):
        response = getattr(self.metadata.controller, operation)(request, 0).response
        self._publish()
        return response

    async def _wait_for_topic(self, done, timeout_s=0):
        assert done()  # applied already: there is no log to wait for

    def _publish(self):
        """What ``Broker._publish`` does, with fake partitions."""
        for per_broker, name in ((True, str(self.node_id)), (False, "")):
            layer = self.config.dynamic_layer(per_broker)
            layer.clear()
            layer.update(self.config.validate_dynamic(self.metadata.image.configs.get((BROKER_RESOURCE, name), {})))
        wanted = {(t.name, p) for t, p, _ in self.metadata.image.all_partitions()}
        for key in set(self.partitions) - wanted:
            del self.partitions[key]
        for key in wanted - set(self.partitions):
            self.partitions[key] = FakePartition()
        for name in sorted({t for t, _ in self.partitions}):
            self.topic_config_changed(name)

    def topic_config_changed(self, name):
        """Note a topic whose partitions' effective log config changed (not at creation)."""
        config = self.topics.log_config(name)
        if self._seen_configs.setdefault(name, config) != config:
            self.changed.append(name)
        self._seen_configs[name] = config

    def partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None

    def hosted_partitions(self):
        return sorted(self.partitions)

    def log_dir_of(self, topic, index):
        return self._log_dir

    def advertised_endpoint(self):
        return "localhost", 9092


def call(broker, module, request: dict, version: int):
    """Encode ``request`` at ``version``, run the handler, round-trip its response."""
    key = module.API_KEY
    decoded = REQUESTS[key].decode(REQUESTS[key].encode(request, version), version)
    ctx = RequestContext(key, version, 1, "test", "127.0.0.1:1", None)
    response = trio.run(module.handle, broker.services, decoded, ctx)
    return RESPONSES[key].decode(RESPONSES[key].encode(response, version), version)


def run(async_fn, *args):
    """Run one of the broker's async admin methods to completion."""
    return trio.run(async_fn, *args)


def versions(module):
    vs = REQUESTS[module.API_KEY].valid_versions
    return range(vs.lowest, vs.highest + 1)


@pytest.fixture
def broker(tmp_path):
    return FakeBroker(tmp_path)


def _topic(name, partitions=1, rf=-1, configs=None):
    return {"name": name, "num_partitions": partitions, "replication_factor": rf,
            "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()]}


@pytest.mark.parametrize("version", versions(create_topics))
def test_create_topics_all_versions(broker, version):
    request = {"topics": [_topic("good", 2, configs={"retention.ms": "1000"}), _topic("bad name"),
                          _topic("rf", 1, rf=3), _topic("cfg", 1, configs={"nope": "1"}),
                          _topic("dup"), _topic("dup")], "timeout_ms": 1000}
    response = call(broker, create_topics, request, version)
    by_name = {t.name: t for t in response.topics}
    assert by_name["good"].error_code == 0
    assert by_name["bad name"].error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert by_name["rf"].error_code == ErrorCode.INVALID_REPLICATION_FACTOR
    assert by_name["cfg"].error_code == ErrorCode.INVALID_CONFIG
    assert by_name["dup"].error_code == ErrorCode.INVALID_REQUEST
    assert len(response.topics) == 5
    assert broker.topics.get("good").num_partitions == 2
    if version >= 5:
        good = by_name["good"]
        assert (good.num_partitions, good.replication_factor) == (2, 1)
        configs = {c.name: c for c in good.configs}
        assert configs["retention.ms"].value == "1000"
        assert configs["retention.ms"].config_source == ConfigSource.TOPIC_CONFIG
        assert configs["segment.bytes"].config_source == ConfigSource.DEFAULT_CONFIG
    if version >= 7:
        assert by_name["good"].topic_id == broker.topics.get("good").topic_id


def test_create_topics_validate_only_and_assignment(broker):
    request = {"topics": [_topic("v", 4)], "validate_only": True}
    response = call(broker, create_topics, request, 7)
    assert response.topics[0].error_code == 0 and response.topics[0].num_partitions == 4
    assert response.topics[0].topic_id == bytes(16) and broker.topics.get("v") is None
    assigned = {"name": "a", "num_partitions": -1, "replication_factor": -1, "configs": [],
                "assignments": [{"partition_index": 1, "broker_ids": [1]}, {"partition_index": 0, "broker_ids": [1]}]}
    elsewhere = dict(assigned, name="b", assignments=[{"partition_index": 0, "broker_ids": [2]}])
    response = call(broker, create_topics, {"topics": [assigned, elsewhere]}, 7)
    assert [t.error_code for t in response.topics] == [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT]
    assert broker.topics.get("a").num_partitions == 2


@pytest.mark.parametrize("version", versions(delete_topics))
def test_delete_topics_all_versions(broker, version):
    run(broker.create_topic, "t", 2, {})
    if version >= 6:
        request = {"topics": [{"name": "t"}, {"name": "missing"}, {"topic_id": b"\x01" * 16}]}
    else:
        request = {"topic_names": ["t", "missing"]}
    response = call(broker, delete_topics, request, version)
    codes = [r.error_code for r in response.responses]
    assert codes[:2] == [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    if version >= 6:
        assert codes[2] == ErrorCode.UNKNOWN_TOPIC_ID and response.responses[2].name is None
    assert broker.topics.get("t") is None and not broker.partitions


def test_delete_topic_by_id_and_disabled(tmp_path):
    broker = FakeBroker(tmp_path)
    info = run(broker.create_topic, "t", 1, {})
    response = call(broker, delete_topics, {"topics": [{"topic_id": info.topic_id}]}, 6)
    assert (response.responses[0].name, response.responses[0].error_code) == ("t", 0)
    disabled = FakeBroker(tmp_path / "other", **{"delete.topic.enable": "false"})
    run(disabled.create_topic, "keep", 1, {})
    response = call(disabled, delete_topics, {"topic_names": ["keep"]}, 5)
    assert response.responses[0].error_code == ErrorCode.TOPIC_DELETION_DISABLED
    assert disabled.topics.get("keep") is not None


@pytest.mark.parametrize("version", versions(create_partitions))
def test_create_partitions_all_versions(broker, version):
    run(broker.create_topic, "t", 1, {})
    request = {"topics": [{"name": "t", "count": 3, "assignments": None},
                          {"name": "missing", "count": 3, "assignments": None}]}
    response = call(broker, create_partitions, dict(request, validate_only=True), version)
    assert [r.error_code for r in response.results] == [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]
    assert broker.topics.get("t").num_partitions == 1
    response = call(broker, create_partitions, request, version)
    assert response.results[0].error_code == 0 and ("t", 2) in broker.partitions
    response = call(broker, create_partitions, {"topics": [{"name": "t", "count": 2}]}, version)
    assert response.results[0].error_code == ErrorCode.INVALID_PARTITIONS
    assert "3 partition(s); 2 would not be an increase" in response.results[0].error_message


def _describe(broker, resources, version, **flags):
    request = {"resources": [{"resource_type": t, "resource_name": n, "configuration_keys": k}
                             for t, n, k in resources], **flags}
    return call(broker, describe_configs, request, version)


@pytest.mark.parametrize("version", versions(describe_configs))
def test_describe_configs_all_versions(broker, version):
    run(broker.create_topic, "t", 1, {"retention.ms": "5000"})
    response = _describe(broker, [(2, "t", None), (2, "missing", None), (4, "1", ["num.partitions"]),
                                  (8, "1", None), (4, "2", None)], version,
                         include_synonyms=True, include_documentation=True)
    topic, missing, node, logger, other = response.results
    configs = {c.name: c for c in topic.configs}
    assert configs["retention.ms"].value == "5000"
    assert configs["retention.ms"].config_source == ConfigSource.TOPIC_CONFIG
    assert configs["retention.ms"].synonyms[0].name == "retention.ms"
    assert configs["cleanup.policy"].value == "delete"
    assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert [(c.name, c.value, c.read_only) for c in node.configs] == [("num.partitions", "1", True)]
    assert logger.error_code == ErrorCode.INVALID_REQUEST and other.error_code == ErrorCode.INVALID_REQUEST
    if version >= 3:
        assert configs["retention.ms"].config_type == ConfigType.LONG
        assert configs["retention.ms"].documentation


@pytest.mark.parametrize("version", versions(incremental_alter_configs))
def test_incremental_alter_topic_configs(broker, version):
    run(broker.create_topic, "t", 1, {"retention.ms": "5000", "segment.ms": "100000"})

    def alter(*configs, validate_only=False):
        resource = {"resource_type": 2, "resource_name": "t",
                    "configs": [{"name": n, "config_operation": op, "value": v} for n, op, v in configs]}
        response = call(broker, incremental_alter_configs,
                        {"resources": [resource], "validate_only": validate_only}, version)
        return response.responses[0]

    assert alter(("retention.ms", 0, "7000"), ("segment.ms", 1, None)).error_code == 0
    assert broker.topics.get("t").configs == {"retention.ms": "7000"}
    assert broker.changed == ["t"]
    assert alter(("cleanup.policy", 2, "compact")).error_code == 0
    assert broker.topics.get("t").configs["cleanup.policy"] == "delete,compact"
    assert alter(("cleanup.policy", 3, "delete")).error_code == 0
    assert broker.topics.get("t").configs["cleanup.policy"] == "compact"
    bad = alter(("retention.ms", 2, "1"))
    assert bad.error_code == ErrorCode.INVALID_CONFIG and "append is not allowed" in bad.error_message
    assert alter(("retention.ms", 0, "1"), ("retention.ms", 0, "2")).error_code == ErrorCode.INVALID_REQUEST
    assert alter(("retention.ms", 0, "9"), validate_only=True).error_code == 0
    assert broker.topics.get("t").configs["retention.ms"] == "7000"


def test_incremental_alter_broker_configs(broker):
    run(broker.create_topic, "t", 1, {})
    resources = [
        {"resource_type": 4, "resource_name": "", "configs": [
            {"name": "log.retention.ms", "config_operation": 0, "value": "60000"}]},
        {"resource_type": 4, "resource_name": "1", "configs": [
            {"name": "log.segment.bytes", "config_operation": 0, "value": "2097152"}]},
        {"resource_type": 4, "resource_name": "1", "configs": [
            {"name": "log.dirs", "config_operation": 0, "value": "/x"}]},
    ]
    response = call(broker, incremental_alter_configs, {"resources": resources}, 1)
    assert [r.error_code for r in response.responses] == [0, 0, ErrorCode.INVALID_CONFIG]
    assert broker.topics.effective_config("t")["retention.ms"] == 60000
    assert "t" in broker.changed
    described = _describe(broker, [(2, "t", ["segment.bytes"]), (4, "", None)], 4, include_synonyms=True)
    segment = described.results[0].configs[0]
    assert (segment.value, segment.config_source) == ("2097152", ConfigSource.DYNAMIC_BROKER_CONFIG)
    assert [(c.name, c.value) for c in described.results[1].configs] == [("log.retention.ms", "60000")]


@pytest.mark.parametrize("version", versions(alter_configs))
def test_alter_configs_replaces_the_set(broker, version):
    run(broker.create_topic, "t", 1, {"retention.ms": "5000"})
    resource = {"resource_type": 2, "resource_name": "t", "configs": [{"name": "segment.ms", "value": "60000"}]}
    response = call(broker, alter_configs, {"resources": [resource]}, version)
    assert response.responses[0].error_code == 0
    assert broker.topics.get("t").configs == {"segment.ms": "60000"}
    resource["configs"] = [{"name": "segment.ms", "value": "0"}]
    response = call(broker, alter_configs, {"resources": [resource]}, version)
    assert response.responses[0].error_code == ErrorCode.INVALID_CONFIG
    assert "Value must be at least 1" in response.responses[0].error_message


@pytest.mark.parametrize("version", versions(delete_records))
def test_delete_records_all_versions(broker, version):
    run(broker.create_topic, "t", 2, {})
    request = {"topics": [{"name": "t", "partitions": [
        {"partition_index": 0, "offset": 4}, {"partition_index": 1, "offset": 11}]},
        {"name": "missing", "partitions": [{"partition_index": 0, "offset": 1}]}]}
    response = call(broker, delete_records, request, version)
    (p0, p1), (gone,) = response.topics[0].partitions, response.topics[1].partitions
    assert (p0.low_watermark, p0.error_code) == (4, 0)
    assert (p1.low_watermark, p1.error_code) == (-1, ErrorCode.OFFSET_OUT_OF_RANGE)
    assert gone.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    request = {"topics": [{"name": "t", "partitions": [{"partition_index": 1, "offset": -1}]}]}
    assert call(broker, delete_records, request, version).topics[0].partitions[0].low_watermark == 10


@pytest.mark.parametrize("version", versions(describe_cluster))
def test_describe_cluster_all_versions(broker, version):
    response = call(broker, describe_cluster, {"include_cluster_authorized_operations": True}, version)
    assert response.error_code == 0 and response.cluster_id == broker.cluster_id
    assert response.controller_id == 1
    assert [(b.broker_id, b.host, b.port) for b in response.brokers] == [(1, "localhost", 9092)]
    assert response.cluster_authorized_operations & (1 << 8)  # DESCRIBE
    if version >= 1:
        wrong = call(broker, describe_cluster, {"endpoint_type": 2}, version)
        assert wrong.error_code == ErrorCode.MISMATCHED_ENDPOINT_TYPE


@pytest.mark.parametrize("version", versions(describe_log_dirs))
def test_describe_log_dirs_all_versions(broker, tmp_path, version):
    run(broker.create_topic, "t", 2, {})
    run(broker.create_topic, "u", 1, {})
    response = call(broker, describe_log_dirs, {"topics": [{"topic": "t", "partitions": [1, 5]}]}, version)
    (result,) = response.results
    assert result.log_dir == str(tmp_path)
    assert [(t.name, [(p.partition_index, p.partition_size) for p in t.partitions]) for t in result.topics] == [
        ("t", [(1, 1234)])]
    everything = call(broker, describe_log_dirs, {"topics": None}, version).results[0]
    assert sorted(t.name for t in everything.topics) == ["t", "u"]
    if version >= 4:
        assert result.total_bytes > 0 and result.usable_bytes >= 0
