"""``minikafka consume --isolation-level``: kafka-console-consumer's option, passed to the consumer."""

from minikafka.cli import console_consumer
from minikafka.cli.main import build_parser


def _config(*argv):
    args = build_parser().parse_args(["consume", "--bootstrap-server", "b:9092", "--topic", "t",
                                      *argv])
    return console_consumer.consumer_config(args)


def test_read_uncommitted_by_default_and_read_committed_on_request():
    assert _config()["isolation.level"] == "read_uncommitted"
    assert _config("--isolation-level", "read_committed")["isolation.level"] == "read_committed"
