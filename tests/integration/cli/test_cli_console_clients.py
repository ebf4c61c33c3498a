"""``minikafka produce`` / ``consume`` over the bundled clients: what the producer's
batching, splitting and errors look like from the command line."""

from __future__ import annotations

import pytest

from tests.integration.cli.in_process import ok, run_cli
from tests.integration.cli_brokers import MinikafkaBroker, stopping_cleanly
from .test_cli_end_to_end import consume, create


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from stopping_cleanly(MinikafkaBroker(tmp_path_factory.mktemp("data")))


def test_many_lines_are_batched_split_to_fit_the_topic_and_arrive_in_order(broker):
    create(broker, "small", "--partitions", "1", "--config", "max.message.bytes=2048")
    lines = [b"line %04d " % i + b"." * 100 for i in range(300)]
    ok("produce", "--bootstrap-server", broker.bootstrap, "--topic", "small",
       "--acks", "all", stdin=b"\n".join(lines) + b"\n")
    out = consume(broker, "small", "--from-beginning", "--print-offset", "--max-messages", "300")
    assert out == [f"Offset:{i}\t{line.decode()}" for i, line in enumerate(lines)]


def test_a_record_the_topic_refuses_is_one_readable_line(broker):
    create(broker, "tiny", "--partitions", "1", "--config", "max.message.bytes=512")
    status, _, err = run_cli("produce", "--bootstrap-server", broker.bootstrap, "--topic", "tiny",
                             stdin=b"short\n" + b"x" * 1000 + b"\n")
    assert status == 1 and err.endswith("(MESSAGE_TOO_LARGE)\n"), err
    assert consume(broker, "tiny", "--from-beginning", "--max-messages", "1") == ["short"]


def test_consuming_a_partition_the_topic_lacks_is_one_readable_line(broker):
    create(broker, "two", "--partitions", "2")
    status, out, err = run_cli("consume", "--bootstrap-server", broker.bootstrap, "--topic", "two",
                               "--partition", "5", "--timeout-ms", "100")
    assert (status, out) == (1, "")
    assert err == "minikafka: error: topic 'two' has no partition 5 (UNKNOWN_TOPIC_OR_PARTITION)\n"
