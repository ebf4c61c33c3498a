"""BrokerConfig: .properties parsing, defaults, precedence, topic config validation and sources."""

from __future__ import annotations

import pytest

from minikafka.config import (
    BrokerConfig,
    ConfigError,
    ConfigSource,
    load_or_create_meta_properties,
    parse_properties,
    validate_topic_configs,
)
from minikafka.errors import ErrorCode, KafkaError


def test_properties_comments_separators_and_whitespace():
    text = (
        "# a comment\n"
        "   ! another comment\n"
        "\n"
        "a=1\n"
        "b : 2\n"
        "c    3\n"
        "  d=  spaced value  \n"
        "e=\n"
        "f\n"
    )
    assert parse_properties(text) == {"a": "1", "b": "2", "c": "3", "d": "spaced value  ", "e": "", "f": ""}


def test_properties_escapes_and_continuations():
    text = (
        "key\\ with\\=odd\\:chars = v\n"
        "tab=a\\tb\n"
        "uni=caf\\u00e9\n"
        "long=one, \\\n"
        "      two, \\\n"
        "      three\n"
        "backslash=ends with \\\\\n"
        "next=ok\n"
    )
    props = parse_properties(text)
    assert props["key with=odd:chars"] == "v"
    assert props["tab"] == "a\tb"
    assert props["uni"] == "café"
    assert props["long"] == "one, two, three"
    assert props["backslash"] == "ends with \\"  # an even count does not continue the line
    assert props["next"] == "ok"


def test_defaults_are_kafkas():
    config = BrokerConfig()
    assert config["node.id"] == 1
    assert config["listeners"] == ["PLAINTEXT://:9092"]
    assert config.log_dirs == ["/tmp/kafka-logs"]
    assert config["num.partitions"] == 1
    assert config["default.replication.factor"] == 1
    assert config["auto.create.topics.enable"] is True
    assert config["delete.topic.enable"] is True
    assert config["socket.request.max.bytes"] == 104857600
    assert config["message.max.bytes"] == 1048588
    assert config["log.segment.bytes"] == 1024**3
    assert config["log.retention.ms"] == 168 * 3600 * 1000
    assert config["log.retention.check.interval.ms"] == 300000
    assert config["offsets.topic.num.partitions"] == 50
    assert config["min.insync.replicas"] == 1
    assert config["compression.type"] == "producer"
    assert config["log.message.timestamp.after.max.ms"] == 3600000  # Kafka 4.0 (KIP-1030)


def test_load_file_with_overrides(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("node.id=3\nlog.dirs=/a,/b\nnum.partitions=4\nmy.custom.key=hello\n")
    config = BrokerConfig.load(path, {"num.partitions": "6"})
    assert config["node.id"] == 3
    assert config.log_dirs == ["/a", "/b"]
    assert config["num.partitions"] == 6
    assert config["my.custom.key"] == "hello"  # unknown keys are kept, not fatal


@pytest.mark.parametrize("overrides, expected_ms", [
    ({}, 168 * 3_600_000),
    ({"log.retention.hours": "1"}, 3_600_000),
    ({"log.retention.hours": "1", "log.retention.minutes": "5"}, 300_000),
    ({"log.retention.hours": "1", "log.retention.minutes": "5", "log.retention.ms": "1234"}, 1234),
    ({"log.retention.minutes": "-5"}, -1),
])
def test_retention_precedence(overrides, expected_ms):
    assert BrokerConfig(overrides)["log.retention.ms"] == expected_ms


def test_roll_precedence():
    assert BrokerConfig({"log.roll.hours": "2"})["log.roll.ms"] == 7_200_000
    assert BrokerConfig({"log.roll.hours": "2", "log.roll.ms": "60000"})["log.roll.ms"] == 60000


@pytest.mark.parametrize("key, value, fragment", [
    ("num.partitions", "zero", "Invalid value zero for configuration num.partitions: Not a number of type INT"),
    ("num.partitions", "0", "Value must be at least 1"),
    ("delete.topic.enable", "yes", "Expected value to be either true or false"),
    ("log.segment.bytes", "1000", "Value must be at least 1048576"),
    ("log.message.timestamp.type", "Wallclock", "String must be one of: CreateTime, LogAppendTime"),
    ("message.max.bytes", str(2**31), "Not a number of type INT"),
])
def test_bad_broker_values_raise_config_error(key, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        BrokerConfig({key: value})


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        BrokerConfig.load(tmp_path / "nope.properties")


@pytest.mark.parametrize("configs, fragment", [
    ({"retention.mss": "1"}, "Unknown topic config name: retention.mss"),
    ({"segment.bytes": "10"}, "Invalid value 10 for configuration segment.bytes: Value must be at least 1048576"),
    ({"cleanup.policy": "compact,shred"}, "String must be one of: compact, delete"),
    ({"min.cleanable.dirty.ratio": "1.5"}, "Value must be no more than 1"),
    ({"retention.ms": None}, "Null value not supported for topic configs: retention.ms"),
])
def test_topic_config_validation(configs, fragment):
    with pytest.raises(KafkaError) as info:
        validate_topic_configs(configs)
    assert info.value.code == ErrorCode.INVALID_CONFIG
    assert fragment in info.value.message


def test_topic_config_types():
    typed = validate_topic_configs({"cleanup.policy": "compact, delete", "retention.ms": "-1",
                                    "preallocate": "TRUE", "compression.type": "zstd"})
    assert typed == {"cleanup.policy": ["compact", "delete"], "retention.ms": -1,
                     "preallocate": True, "compression.type": "zstd"}


def test_effective_topic_config_layers():
    config = BrokerConfig({"log.retention.hours": "24", "message.max.bytes": "2000000"})
    config.dynamic_default["log.segment.bytes"] = 2 * 1024 * 1024
    config.dynamic_broker["log.segment.bytes"] = 3 * 1024 * 1024
    effective = config.effective_topic_config({"max.message.bytes": 500})
    assert effective["retention.ms"] == 86_400_000
    assert effective["max.message.bytes"] == 500
    assert effective["segment.bytes"] == 3 * 1024 * 1024
    assert effective["cleanup.policy"] == ["delete"]
    assert effective["segment.ms"] == 604_800_000


def test_topic_entry_sources_and_synonyms():
    config = BrokerConfig({"log.retention.minutes": "10"})
    entry = config.topic_entry("retention.ms", {})
    assert (entry.value, entry.source) == (600_000, ConfigSource.STATIC_BROKER_CONFIG)
    assert [(s.name, s.value, s.source) for s in entry.synonyms] == [
        ("log.retention.minutes", 10, ConfigSource.STATIC_BROKER_CONFIG),
        ("log.retention.hours", 168, ConfigSource.DEFAULT_CONFIG),
    ]
    entry = config.topic_entry("retention.ms", {"retention.ms": 5})
    assert (entry.value, entry.source) == (5, ConfigSource.TOPIC_CONFIG)
    assert entry.synonyms[0].name == "retention.ms"
    config.dynamic_default["log.segment.bytes"] = 2 * 1024 * 1024
    entry = config.topic_entry("segment.bytes", {})
    assert entry.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
    assert [s.source for s in entry.synonyms] == [ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
                                                  ConfigSource.DEFAULT_CONFIG]
    assert config.topic_entry("compression.type", {}).source == ConfigSource.DEFAULT_CONFIG


def test_broker_entry_read_only_and_dynamic():
    config = BrokerConfig({"num.partitions": "3"})
    entry = config.broker_entry("num.partitions")
    assert (entry.value, entry.source, entry.read_only) == (3, ConfigSource.STATIC_BROKER_CONFIG, True)
    assert config.broker_entry("log.retention.hours").read_only is False
    entry = config.broker_entry("log.retention.ms")
    assert entry.value is None  # Kafka shows the unset key itself as null ...
    assert entry.synonyms[0].name == "log.retention.hours"  # ... and where the value comes from


def test_validate_dynamic():
    assert BrokerConfig.validate_dynamic({"log.retention.ms": "100", "message.max.bytes": None}) == {
        "log.retention.ms": 100, "message.max.bytes": None}
    with pytest.raises(KafkaError, match="Cannot update these configs dynamically"):
        BrokerConfig.validate_dynamic({"log.dirs": "/x"})
    with pytest.raises(KafkaError, match="Unknown broker config name"):
        BrokerConfig.validate_dynamic({"no.such.key": "1"})


def test_broker_resource_scope():
    config = BrokerConfig({"node.id": "7"})
    assert config.broker_resource_scope("7") is True
    assert config.broker_resource_scope("") is False
    for name in ("8", "abc"):
        with pytest.raises(KafkaError) as info:
            config.broker_resource_scope(name)
        assert info.value.code == ErrorCode.INVALID_REQUEST


def test_meta_properties_created_once_and_checked(tmp_path):
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    cluster_id = load_or_create_meta_properties(dirs, node_id=1)
    assert len(cluster_id) == 22
    props = parse_properties((tmp_path / "a" / "meta.properties").read_text())
    assert props["version"] == "1" and props["node.id"] == "1" and props["cluster.id"] == cluster_id
    other = parse_properties((tmp_path / "b" / "meta.properties").read_text())
    assert other["cluster.id"] == cluster_id and other["directory.id"] != props["directory.id"]
    assert load_or_create_meta_properties(dirs, node_id=1) == cluster_id
    with pytest.raises(ConfigError, match="doesn't match"):
        load_or_create_meta_properties(dirs, node_id=2)
