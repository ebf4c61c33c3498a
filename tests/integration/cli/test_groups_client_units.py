"""The pure parts of ``minikafka groups`` and ``minikafka_clients.groups``, without a broker,
plus the client calls against Tansu (a Kafka-compatible reference broker), so that
they speak real Kafka and not only our broker's dialect."""

from __future__ import annotations

import datetime
import pathlib
import struct
import sys
import uuid

import pytest
from hypothesis import given, strategies as st

_REPO = pathlib.Path(__file__).resolve().parents[3]
for _path in (_REPO / "clients",):  # the clients
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.integration.cli_brokers import TansuBroker  # noqa: E402
from minikafka_clients import NewTopic, admin, groups, open_cluster  # noqa: E402

from minikafka.cli import groups as groups_cli  # noqa: E402
from minikafka.errors import ErrorCode, KafkaError  # noqa: E402


# -- ConsumerProtocolAssignment ----------------------------------------------------------

def test_decode_assignment_reads_the_bytes_a_java_consumer_writes():
    # Written by hand from the format: version 0, [("orders", [2, 0])], user_data null.
    raw = (struct.pack(">hi", 0, 1) + struct.pack(">h", 6) + b"orders"
           + struct.pack(">iii", 2, 2, 0) + struct.pack(">i", -1))
    assert groups.decode_assignment(raw) == {"orders": [0, 2]}


def test_decode_assignment_tolerates_empty_foreign_and_newer_bytes():
    assert groups.decode_assignment(b"") == {}
    assert groups.decode_assignment(None) == {}
    assert groups.decode_assignment(b"\x00\x00\xff") == {}  # truncated
    assert groups.decode_assignment(b"\xff\xff") == {}  # a negative version: not ours
    newer = groups.encode_assignment({"t": [1]}, version=3)[2:]
    assert groups.decode_assignment(struct.pack(">h", 7) + newer) == {"t": [1]}


@given(st.dictionaries(st.text(min_size=1, max_size=20),
                       st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=8, unique=True),
                       max_size=5),
       st.integers(0, 3))
def test_assignment_round_trip(assignment, version):
    raw = groups.encode_assignment(assignment, version)
    assert groups.decode_assignment(raw) == {t: sorted(ps) for t, ps in assignment.items()}


# -- argument parsing and layout ------------------------------------------------------------

def test_parse_topic_spec():
    assert groups_cli.parse_topic_spec("orders") == ("orders", [])
    assert groups_cli.parse_topic_spec("orders:0,2") == ("orders", [0, 2])
    with pytest.raises(groups_cli.GroupCommandError, match="bad --topic"):
        groups_cli.parse_topic_spec("orders:x")
    with pytest.raises(groups_cli.GroupCommandError, match="no topic name"):
        groups_cli.parse_topic_spec(":1")


def test_parse_states_uses_kafkas_spelling():
    assert groups_cli.parse_states("stable, EMPTY") == ["Stable", "Empty"]
    assert groups_cli.parse_states("") == []
    with pytest.raises(groups_cli.GroupCommandError, match="valid states are"):
        groups_cli.parse_states("asleep")


def test_parse_datetime_ms():
    assert groups_cli.parse_datetime_ms("1970-01-01T00:00:01.500Z") == 1500
    assert groups_cli.parse_datetime_ms("1970-01-01T02:00:00+02:00") == 0
    local = datetime.datetime(2024, 5, 1, 12, 0).timestamp()
    assert groups_cli.parse_datetime_ms("2024-05-01T12:00:00") == int(local * 1000)


def test_print_table_aligns_columns(capsys):
    groups_cli.print_table(["GROUP", "LAG", "CLIENT-ID"], [["g", "12345", "c"], ["group-2", "0", "-"]])
    assert capsys.readouterr().out == (
        "\n"
        "GROUP   LAG   CLIENT-ID\n"
        "g       12345 c\n"
        "group-2 0     -\n")


def test_format_assignment():
    assert groups_cli.format_assignment({"u": [2], "t": [0, 1]}) == "t(0,1), u(2)"
    assert groups_cli.format_assignment({}) == "-"


def test_offset_row_lag_needs_both_offsets():
    row = groups_cli.OffsetRow("g", "t", 0, committed_offset=3, log_end_offset=10)
    assert row.cells() == ["g", "t", "0", "3", "10", "7", "-", "-", "-"]
    assert groups_cli.OffsetRow("g", "t", 1, log_end_offset=10).cells()[3:6] == ["-", "10", "-"]


# -- against a reference broker ---------------------------------------------------------------

@pytest.fixture(scope="module")
def tansu():
    with TansuBroker() as running:
        yield running


async def test_admin_commit_fetch_list_and_delete_on_tansu(tansu):
    group, topic = f"g-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    async with open_cluster(tansu.bootstrap) as cluster:
        await admin.create_topics(cluster, [NewTopic(topic, 2)])
        coordinator = await groups.find_coordinator(cluster, group)
        assert f"{coordinator.host}:{coordinator.port}" == tansu.bootstrap

        await groups.commit_offsets(cluster, group, {(topic, 0): 5, (topic, 1): 7})
        offsets = await groups.fetch_offsets(cluster, group)
        assert {tp: o.offset for tp, o in offsets.items()} == {(topic, 0): 5, (topic, 1): 7}
        only_one = await groups.fetch_offsets(cluster, group, [(topic, 1)])
        assert {tp: o.offset for tp, o in only_one.items()} == {(topic, 1): 7}

        assert group in [g.group_id for g in await groups.list_groups(cluster)]
        assert not (await groups.describe_group(cluster, group)).is_active
        await groups.delete_groups(cluster, [group])
        assert await groups.fetch_offsets(cluster, group) == {}


# -- coordinator moves ---------------------------------------------------------------------

class _FakeCluster:
    """Answers FindCoordinator, then each group request from a script of error codes."""

    def __init__(self, describe_errors: list[int]):
        self.describe_errors = list(describe_errors)
        self.find_coordinator_calls = 0

    async def connection_to_address(self, host, port):
        return (host, port)

    async def request(self, connection, api_key, body, **kwargs):
        from types import SimpleNamespace as Response

        if api_key == groups.FIND_COORDINATOR:
            self.find_coordinator_calls += 1
            return Response(coordinators=[Response(error_code=0, error_message=None,
                                                   node_id=1, host="h", port=9092)])
        assert api_key == groups.DESCRIBE_GROUPS and connection == ("h", 9092)
        group = Response(error_code=self.describe_errors.pop(0), group_id="g", group_state="Empty",
                         protocol_type="consumer", protocol_data="", members=[])
        return Response(groups=[group])


async def test_a_moved_or_loading_coordinator_is_looked_up_again(monkeypatch):
    monkeypatch.setattr(groups, "_RETRY_BACKOFF_S", 0)
    cluster = _FakeCluster([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
                            ErrorCode.NONE])
    description = await groups.describe_group(cluster, "g")
    assert description.state == "Empty" and cluster.find_coordinator_calls == 3


async def test_a_coordinator_that_never_answers_is_a_readable_error(monkeypatch):
    monkeypatch.setattr(groups, "_RETRY_BACKOFF_S", 0)
    cluster = _FakeCluster([ErrorCode.NOT_COORDINATOR] * groups._RETRIES)
    with pytest.raises(KafkaError, match="no coordinator of group 'g' answered") as info:
        await groups.describe_group(cluster, "g")
    assert info.value.code == ErrorCode.NOT_COORDINATOR
