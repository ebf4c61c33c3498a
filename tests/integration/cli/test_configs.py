"""``minikafka configs`` on topics and brokers, and its command-line checks.

A real broker process (``minikafka broker`` on port 0); the command runs
in-process through ``main(argv)``, one run as a subprocess for the exit
status. The lines checked are the ones ``kafka-configs.sh`` prints. The
topic and broker configs set here must be the ones the older ``topics``
command and DescribeConfigs see, since they are the same configs.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.integration.cli.in_process import fails, ok
from tests.integration.cli_brokers import REPO, MinikafkaBroker, cli_env, stopping_cleanly


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from stopping_cleanly(MinikafkaBroker(tmp_path_factory.mktemp("data")))


@pytest.fixture
def topic(broker):
    name = f"configs-{uuid.uuid4().hex[:8]}"
    ok("topics", "create", "--bootstrap-server", broker.bootstrap, "--topic", name)
    return name


def configs(broker, *argv: str) -> str:
    return ok("configs", "--bootstrap-server", broker.bootstrap, *argv)


def configs_fail(broker, *argv: str) -> str:
    """A ``configs`` command that must fail: exit 1, one line on stderr, no traceback."""
    return fails("configs", "--bootstrap-server", broker.bootstrap, *argv).removeprefix("minikafka: error: ")


# -- topics ---------------------------------------------------------------------------

def test_alter_describe_and_delete_topic_configs(broker, topic):
    out = configs(broker, "--alter", "--entity-type", "topics", "--entity-name", topic,
                  "--add-config", "retention.ms=60000,cleanup.policy=[compact,delete]")
    assert out == f"Completed updating config for topic {topic}.\n"

    lines = configs(broker, "--describe", "--entity-type", "topics",
                    "--entity-name", topic).splitlines()
    assert lines == [
        f"Dynamic configs for topic {topic} are:",
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:"
        "cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}",
        "  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, "
        "DEFAULT_CONFIG:log.retention.hours=168}",
    ]
    # The older command sees the same overrides.
    described = ok("topics", "describe", "--bootstrap-server", broker.bootstrap, "--topic", topic)
    assert "Configs: cleanup.policy=compact,delete,retention.ms=60000" in described

    out = configs(broker, "--alter", "--entity-type", "topics", "--entity-name", topic,
                  "--delete-config", "retention.ms")
    assert out == f"Completed updating config for topic {topic}.\n"
    lines = configs(broker, "--describe", "--entity-type", "topics",
                    "--entity-name", topic).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["cleanup.policy=compact,delete"]


def test_describe_all_topic_configs_and_every_topic(broker, topic):
    lines = configs(broker, "--describe", "--all", "--entity-type", "topics",
                    "--entity-name", topic).splitlines()
    assert lines[0] == f"All configs for topic {topic} are:"
    assert "  retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:" \
           "log.retention.hours=168}" in lines
    assert len(lines) > 20  # every topic key, defaults included

    every = configs(broker, "--describe", "--entity-type", "topics")
    assert f"Dynamic configs for topic {topic} are:\n" in every


def test_topic_config_errors(broker, topic):
    assert configs_fail(broker, "--alter", "--entity-type", "topics", "--entity-name", topic,
                        "--add-config", "bogus.key=1") == \
        f"topic '{topic}': Unknown topic config name: bogus.key (INVALID_CONFIG)"
    assert configs_fail(broker, "--alter", "--entity-type", "topics", "--entity-name", topic,
                        "--delete-config", "retention.ms,segment.ms") == \
        "Invalid config(s): retention.ms,segment.ms (INVALID_CONFIG)"
    assert configs_fail(broker, "--alter", "--entity-type", "topics", "--entity-name", topic,
                        "--add-config", "retention.ms=soon").endswith("(INVALID_CONFIG)")
    assert configs_fail(broker, "--describe", "--entity-type", "topics",
                        "--entity-name", "no-such-topic") == \
        "topic 'no-such-topic' does not exist (UNKNOWN_TOPIC_OR_PARTITION)"


# -- brokers ---------------------------------------------------------------------------

def test_alter_describe_and_delete_broker_configs(broker, topic):
    out = configs(broker, "--alter", "--entity-type", "brokers", "--entity-name", "1",
                  "--add-config", "log.retention.ms=7200000")
    assert out == "Completed updating config for broker 1.\n"
    out = configs(broker, "--alter", "--entity-type", "brokers", "--entity-default",
                  "--add-config", "log.retention.bytes=1000000")
    assert out == "Completed updating default config for brokers in the cluster.\n"
    try:
        assert configs(broker, "--describe", "--entity-type", "brokers",
                       "--entity-name", "1").splitlines()[:2] == [
            "Dynamic configs for broker 1 are:",
            "  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:"
            "log.retention.ms=7200000, DEFAULT_CONFIG:log.retention.hours=168}",
        ]
        assert configs(broker, "--describe", "--entity-type", "brokers",
                       "--entity-default").splitlines() == [
            "Default configs for brokers in the cluster are:",
            "  log.retention.bytes=1000000 sensitive=false synonyms="
            "{DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.bytes=1000000}",
        ]
        every = configs(broker, "--describe", "--entity-type", "brokers")
        assert every.index("Dynamic configs for broker 1 are:") < \
            every.index("Default configs for brokers in the cluster are:")
        # A topic without its own override now takes the broker's values.
        lines = configs(broker, "--describe", "--all", "--entity-type", "topics",
                        "--entity-name", topic).splitlines()
        assert "  retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:" \
               "log.retention.ms=7200000, DEFAULT_CONFIG:log.retention.hours=168}" in lines
        assert any(line.startswith("  retention.bytes=1000000 ") for line in lines)
        all_lines = configs(broker, "--describe", "--all", "--entity-type", "brokers",
                            "--entity-name", "1").splitlines()
        assert all_lines[0] == "All configs for broker 1 are:" and len(all_lines) > 50
    finally:
        configs(broker, "--alter", "--entity-type", "brokers", "--entity-name", "1",
                "--delete-config", "log.retention.ms")
        configs(broker, "--alter", "--entity-type", "brokers", "--entity-default",
                "--delete-config", "log.retention.bytes")
    assert configs(broker, "--describe", "--entity-type", "brokers", "--entity-name", "1") == \
        "Dynamic configs for broker 1 are:\n"


def test_broker_config_errors(broker):
    assert configs_fail(broker, "--alter", "--entity-type", "brokers", "--entity-name", "1",
                        "--add-config", "bogus=1") == \
        "broker 1: Unknown broker config name: bogus (INVALID_CONFIG)"
    assert configs_fail(broker, "--alter", "--entity-type", "brokers", "--entity-name", "1",
                        "--delete-config", "log.retention.ms") == \
        "Invalid config(s): log.retention.ms (INVALID_CONFIG)"
    assert configs_fail(broker, "--describe", "--entity-type", "brokers",
                        "--entity-name", "one") == \
        "The entity name for brokers must be a valid integer broker id, but it is: one"


# -- the command line ---------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--alter", "--entity-type", "topics", "--entity-name", "t"],
     "At least one of --add-config or --delete-config must be specified with --alter"),
    (["--describe", "--entity-type", "topics", "--add-config", "a=1"],
     "Option --describe can't be used with --add-config or --delete-config"),
    (["--describe", "--entity-type", "groups"],
     "Invalid entity type groups, the entity type must be one of topics, clients, users, "
     "brokers, ips, client-metrics with a --bootstrap-server argument"),
    (["--describe"], "At least one entity type must be specified"),
    (["--describe", "--entity-type", "users", "--entity-type", "users"],
     "Duplicate entity type(s) specified: users"),
    (["--describe", "--entity-type", "topics", "--entity-type", "clients"],
     "Only 'users' and 'clients' entity types may be specified together"),
    (["--describe", "--entity-type", "topics", "--entity-default"],
     "--entity-default must not be specified with --describe of topics"),
    (["--alter", "--entity-type", "clients", "--add-config", "producer_byte_rate=1"],
     "An entity-name or default entity must be specified with --alter of users, clients, "
     "brokers or ips"),
    (["--alter", "--entity-type", "topics", "--add-config", "retention.ms=1"],
     "An entity name must be specified with --alter of topics"),
    (["--alter", "--entity-type", "users", "--entity-name", "a", "--entity-type", "clients",
      "--add-config", "producer_byte_rate=1"],
     "An entity name must be specified for every entity type"),
    (["--alter", "--entity-type", "ips", "--entity-name", "not an ip", "--add-config",
      "connection_creation_rate=1"],
     "The entity name for ips must be a valid IP or resolvable host, but it is: not an ip"),
    (["--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "a=1,b"],
     'Invalid entity config: all configs to be added must be in the format "key=val".'),
    (["--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "a b=1"],
     "Invalid character found for config key: a b"),
])
def test_command_line_checks(broker, argv, message):
    assert configs_fail(broker, *argv) == message


def test_a_failing_command_exits_1_without_a_traceback(broker):
    result = subprocess.run(
        [sys.executable, "-m", "minikafka.cli.main", "configs", "--bootstrap-server",
         broker.bootstrap, "--alter", "--entity-type", "topics", "--entity-name", "no-such-topic",
         "--add-config", "retention.ms=1"],
        capture_output=True, text=True, env=cli_env(), cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("minikafka: error: ")
    assert result.stderr.rstrip().endswith("(UNKNOWN_TOPIC_OR_PARTITION)")
    assert "Traceback" not in result.stderr
