"""The quorum's dataclasses survive Kafka's wire format, at the versions sent."""

from __future__ import annotations

import pytest

from minikafka.errors import ErrorCode
from minikafka.protocol import framing, messages
from minikafka.protocol.metadata_topic import is_metadata_fetch
from minikafka.protocol.records import read_batches
from minikafka.quorum import messages as m
from minikafka.quorum import wire
from minikafka.quorum.log import Entry, SnapshotId

ENTRIES = (Entry(7, 3, b"", is_control=True), Entry(8, 3, b"topic-record"), Entry(9, 4, b"x" * 300))

REQUESTS = [
    m.VoteRequest(candidate_epoch=5, candidate_id=2, last_offset_epoch=4, last_offset=17),
    m.VoteRequest(candidate_epoch=5, candidate_id=2, last_offset_epoch=4, last_offset=17,
                  pre_vote=True),
    m.BeginQuorumEpochRequest(leader_id=3, leader_epoch=6),
    m.EndQuorumEpochRequest(leader_id=3, leader_epoch=6, preferred_successors=(2, 1)),
    m.FetchRequest(replica_id=2, current_leader_epoch=6, fetch_offset=10, last_fetched_epoch=5,
                   log_start_offset=0, max_bytes=1 << 20),
    m.FetchSnapshotRequest(replica_id=1, current_leader_epoch=6, snapshot_id=SnapshotId(100, 4),
                           position=4096, max_bytes=65536),
]

LEADER = m.LeaderIdAndEpoch(3, 6)
RESPONSES = [
    (REQUESTS[1], m.VoteResponse(ErrorCode.NONE, None, 5, True, pre_vote=True)),
    (REQUESTS[0], m.VoteResponse(ErrorCode.FENCED_LEADER_EPOCH, 1, 7, False)),
    (REQUESTS[2], m.BeginQuorumEpochResponse(ErrorCode.NONE, 3, 6)),
    (REQUESTS[3], m.EndQuorumEpochResponse(ErrorCode.NONE, None, 6)),
    (REQUESTS[4], m.FetchResponse(ErrorCode.NONE, LEADER, high_watermark=9, log_start_offset=0,
                                  records=ENTRIES)),
    (REQUESTS[4], m.FetchResponse(ErrorCode.NONE, LEADER, 9, 0,
                                  diverging_epoch=m.QuorumEpochEndOffset(0, 0))),
    (REQUESTS[4], m.FetchResponse(ErrorCode.NONE, LEADER, 9, 50, snapshot_id=SnapshotId(50, 2))),
    (REQUESTS[4], m.FetchResponse(ErrorCode.NOT_LEADER_OR_FOLLOWER, m.LeaderIdAndEpoch(None, 7))),
    (REQUESTS[5], m.FetchSnapshotResponse(ErrorCode.NONE, LEADER, SnapshotId(100, 4), size=9000,
                                          position=4096, unaligned_records=b"chunk")),
    (REQUESTS[5], m.FetchSnapshotResponse(ErrorCode.SNAPSHOT_NOT_FOUND, LEADER)),
]


@pytest.mark.parametrize("request_message", REQUESTS, ids=lambda r: type(r).__name__)
def test_requests_round_trip_through_framing(request_message):
    api_key, version, body = wire.encode_request(request_message, "cluster-x", destination_id=1)
    frame = framing.encode_request(api_key, version, 42, "raft-2", body)
    header, body_offset = framing.read_request_header(frame[4:])
    decoded = messages.REQUESTS[api_key].decode(frame[4 + body_offset:], version)
    assert header.request_api_version == version == messages.REQUESTS[api_key].valid_versions.highest
    source_id, cluster_id, message = wire.decode_request(api_key, decoded)
    assert message == request_message and cluster_id == "cluster-x"
    assert source_id == {m.VoteRequest: 2, m.BeginQuorumEpochRequest: 3,
                         m.EndQuorumEpochRequest: 3, m.FetchRequest: 2,
                         m.FetchSnapshotRequest: 1}[type(request_message)]


@pytest.mark.parametrize("request_message,response", RESPONSES,
                         ids=lambda x: type(x).__name__ + str(getattr(x, "error_code", "")))
def test_responses_round_trip_through_framing(request_message, response):
    api_key, version, _ = wire.encode_request(request_message, None, 1)
    frame = framing.encode_response(api_key, version, 42, wire.encode_response(response))
    correlation_id, body = framing.read_response(frame[4:], api_key, version)
    assert correlation_id == 42
    assert wire.decode_response(api_key, body, request_message) == response


def test_metadata_fetch_names_kafkas_metadata_topic_id_and_replica_state():
    _, version, body = wire.encode_request(REQUESTS[4], "c", 1)
    decoded = messages.FETCH_REQUEST.decode(messages.FETCH_REQUEST.encode(body, version), version)
    assert decoded.topics[0].topic_id == bytes(15) + b"\x01"  # AAAAAAAAAAAAAAAAAAAAAQ
    assert decoded.replica_state.replica_id == 2
    assert is_metadata_fetch(decoded)


def test_pre_vote_is_on_the_wire_only_from_vote_v2():
    _, _, body = wire.encode_request(REQUESTS[1], None, 1)
    v2 = messages.VOTE_REQUEST.decode(messages.VOTE_REQUEST.encode(body, 2), 2)
    v1 = messages.VOTE_REQUEST.decode(messages.VOTE_REQUEST.encode(body, 1), 1)
    assert v2.topics[0].partitions[0].pre_vote is True
    assert v1.topics[0].partitions[0].pre_vote is False


def test_each_entry_is_one_batch_stamped_with_its_epoch():
    batches = list(read_batches(wire.entries_to_records(ENTRIES)))
    assert [(b.base_offset, b.partition_leader_epoch, b.is_control) for b in batches] == [
        (7, 3, True), (8, 3, False), (9, 4, False)]
    assert batches[0].records[0].key == b"\x00\x00\x00\x02"  # ControlRecordType.LEADER_CHANGE
    assert wire.records_to_entries(wire.entries_to_records(ENTRIES)) == ENTRIES


def test_request_for_another_partition_is_refused():
    _, _, body = wire.encode_request(REQUESTS[2], None, 1)
    body["topics"][0]["topic_name"] = "orders"
    decoded = messages.BEGIN_QUORUM_EPOCH_REQUEST.decode(
        messages.BEGIN_QUORUM_EPOCH_REQUEST.encode(body, 1), 1)
    with pytest.raises(wire.WireError) as info:
        wire.decode_request(53, decoded)
    assert info.value.error_code is ErrorCode.INVALID_REQUEST
