"""The broker over the real wire protocol, driven by a bare client (in-process)."""

from __future__ import annotations

import struct

import pytest
import trio

from broker_rawclient import RawClient, batch, fetch_body, produce_body, values_of
from minikafka.errors import ErrorCode
from minikafka.protocol import framing
from minikafka.testing import open_broker

PRODUCE, FETCH, LIST_OFFSETS, METADATA, API_VERSIONS, INIT_PRODUCER_ID = 0, 1, 2, 3, 18, 22


@pytest.fixture
async def broker(tmp_path):
    async with open_broker(tmp_path, num_partitions=2) as broker:
        yield broker


@pytest.fixture
async def client(broker):
    client = await RawClient.connect(broker.bound_ports[0])
    yield client
    await client.aclose()


async def create(broker, name="t", partitions=1):
    return await broker.create_topic(name, partitions, {})


# -- ApiVersions ------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
async def test_api_versions_every_version(client, broker, version):
    body = {"client_software_name": "raw-test", "client_software_version": "1.0"}
    response = await client.request(API_VERSIONS, version, body)
    assert response.error_code == ErrorCode.NONE
    ranges = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert ranges[PRODUCE] == (3, 11)
    assert ranges[FETCH] == (4, 17)
    assert ranges[API_VERSIONS] == (0, 4)
    assert set(ranges) <= set(broker.handlers)  # only APIs we can answer


async def test_api_versions_keeps_client_software_on_connection(client, broker):
    await client.request(API_VERSIONS, 3, {"client_software_name": "raw-test",
                                           "client_software_version": "1.2.3"})
    # A second request still works on the same connection.
    response = await client.request(API_VERSIONS, 3, {"client_software_name": "raw-test",
                                                      "client_software_version": "1.2.3"})
    assert response.error_code == ErrorCode.NONE


async def test_api_versions_invalid_software_name(client):
    response = await client.request(API_VERSIONS, 3, {"client_software_name": "bad name!",
                                                      "client_software_version": "1"})
    assert response.error_code == ErrorCode.INVALID_REQUEST


async def test_api_versions_unknown_version_falls_back_to_v0(client):
    # ApiVersions v99 header (v2 layout: key, version, correlation id, client id, tags).
    frame = struct.pack(">hhih", API_VERSIONS, 99, 7, 4) + b"test" + b"\0" + b"\0\0\0"
    await client.send_raw(struct.pack(">i", len(frame)) + frame)
    correlation_id, response = await client.receive(API_VERSIONS, 0)
    assert correlation_id == 7
    assert response.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert any(k.api_key == API_VERSIONS for k in response.api_keys)


# -- framing errors close only that connection --------------------------------------


async def assert_closed(client):
    with trio.fail_after(5):
        assert await client.receive_frame() is None


async def test_unsupported_version_of_other_api_closes(client, broker):
    # Rewrite the version of a Metadata request to 99.
    frame = framing.encode_request(METADATA, 1, 1, "x", {"topics": []})
    bad = frame[:6] + struct.pack(">h", 99) + frame[8:]
    await client.send_raw(bad)
    await assert_closed(client)


async def test_garbage_and_oversized_frames_close_only_that_connection(broker, client):
    healthy = await RawClient.connect(broker.bound_ports[0])
    try:
        garbage = await RawClient.connect(broker.bound_ports[0])
        await garbage.send_raw(struct.pack(">i", 12) + b"\xff" * 12)  # unknown API key
        await assert_closed(garbage)
        negative = await RawClient.connect(broker.bound_ports[0])
        await negative.send_raw(struct.pack(">i", -5))
        await assert_closed(negative)
        oversized = await RawClient.connect(broker.bound_ports[0])
        await oversized.send_raw(struct.pack(">i", 200 * 1024 * 1024))
        await assert_closed(oversized)
        response = await healthy.request(API_VERSIONS, 3, {"client_software_name": "a",
                                                           "client_software_version": "1"})
        assert response.error_code == ErrorCode.NONE
    finally:
        await healthy.aclose()


async def test_undecodable_body_closes(client):
    frame = framing.encode_request(PRODUCE, 9, 1, "x", produce_body("t", 0, b""))
    truncated = frame[:-5]
    await client.send_raw(struct.pack(">i", len(truncated) - 4) + truncated[4:])
    await assert_closed(client)


# -- Metadata -------------------------------------------------------------------------


async def test_metadata_all_topics(client, broker):
    await create(broker, "alpha", 3)
    response = await client.request(METADATA, 12, {"topics": None})
    assert [b.port for b in response.brokers] == broker.bound_ports
    assert response.controller_id == broker.node_id
    assert response.cluster_id == broker.cluster_id
    (topic,) = response.topics
    assert (topic.name, topic.error_code) == ("alpha", ErrorCode.NONE)
    assert topic.topic_id == broker.topics.get("alpha").topic_id
    assert [p.partition_index for p in topic.partitions] == [0, 1, 2]
    assert all(p.leader_id == broker.node_id and p.isr_nodes == [broker.node_id]
               for p in topic.partitions)


async def test_metadata_auto_creates_with_num_partitions(client, broker):
    response = await client.request(METADATA, 9, {"topics": [{"name": "auto"}],
                                                  "allow_auto_topic_creation": True})
    (topic,) = response.topics
    assert topic.error_code == ErrorCode.NONE
    assert len(topic.partitions) == 2  # num.partitions override of the fixture
    assert "auto" in broker.topics.names()


async def test_metadata_without_auto_creation(client, broker):
    response = await client.request(METADATA, 9, {"topics": [{"name": "nope"}],
                                                  "allow_auto_topic_creation": False})
    assert response.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    response = await client.request(METADATA, 9, {"topics": [{"name": "bad/name"}]})
    assert response.topics[0].error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert "nope" not in broker.topics.names()


# -- Produce / Fetch -------------------------------------------------------------------


async def test_produce_then_fetch_round_trip(client, broker):
    await create(broker)
    response = await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"a", b"b"])))
    part = response.responses[0].partition_responses[0]
    assert (part.error_code, part.base_offset, part.log_append_time_ms) == (ErrorCode.NONE, 0, -1)
    response = await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"c"])))
    assert response.responses[0].partition_responses[0].base_offset == 2

    response = await client.request(FETCH, 12, fetch_body("t", 0, 0))
    data = response.responses[0].partitions[0]
    assert (data.error_code, data.high_watermark, data.last_stable_offset) == (0, 3, 3)
    assert values_of(data.records) == [b"a", b"b", b"c"]


async def test_produce_errors_per_partition(client, broker):
    await create(broker)
    body = produce_body("t", 0, batch([b"x"]))
    body["topic_data"].append({"name": "missing",
                               "partition_data": [{"index": 0, "records": batch([b"y"])}]})
    body["topic_data"][0]["partition_data"].append({"index": 5, "records": batch([b"z"])})
    response = await client.request(PRODUCE, 9, body)
    codes = {(t.name, p.index): p.error_code
             for t in response.responses for p in t.partition_responses}
    assert codes == {("t", 0): 0, ("t", 5): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                     ("missing", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}


async def test_produce_corrupt_batch_and_bad_acks(client, broker):
    await create(broker)
    corrupt = bytearray(batch([b"x"]))
    corrupt[-1] ^= 0xFF  # breaks the CRC
    response = await client.request(PRODUCE, 9, produce_body("t", 0, bytes(corrupt)))
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.CORRUPT_MESSAGE
    response = await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"x"]), acks=2))
    assert response.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_REQUIRED_ACKS
    assert broker.partition("t", 0).log_end_offset == 0


async def test_acks_zero_gets_no_response(client, broker):
    await create(broker)
    await client.send(PRODUCE, 9, produce_body("t", 0, batch([b"quiet"]), acks=0))
    # The next response on the connection is the ApiVersions one.
    correlation_id = await client.send(API_VERSIONS, 0, {})
    received, _ = await client.receive(API_VERSIONS, 0)
    assert received == correlation_id
    assert broker.partition("t", 0).log_end_offset == 1


async def test_fetch_offset_out_of_range_and_unknown_topic_id(client, broker):
    await create(broker)
    response = await client.request(FETCH, 12, fetch_body("t", 0, 10))
    assert response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
    response = await client.request(FETCH, 13, fetch_body("t", 0, 0, topic_id=b"\x01" * 16))
    assert response.responses[0].partitions[0].error_code == ErrorCode.UNKNOWN_TOPIC_ID


async def test_fetch_by_topic_id(client, broker):
    info = await create(broker)
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"v"])))
    response = await client.request(FETCH, 17, fetch_body("t", 0, 0, topic_id=info.topic_id))
    assert response.responses[0].topic_id == info.topic_id
    assert values_of(response.responses[0].partitions[0].records) == [b"v"]


async def test_fetch_incremental_session_is_not_found(client, broker):
    await create(broker)
    body = fetch_body("t", 0, 0)
    body.update(session_id=123, session_epoch=1)
    response = await client.request(FETCH, 12, body)
    assert response.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND


async def test_fetch_returns_first_batch_even_if_larger_than_limits(client, broker):
    await create(broker)
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"x" * 5000])))
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"y" * 5000])))
    response = await client.request(FETCH, 12, fetch_body("t", 0, 0, partition_max_bytes=100))
    assert values_of(response.responses[0].partitions[0].records) == [b"x" * 5000]


async def test_long_poll_times_out_empty(client, broker):
    await create(broker)
    start = trio.current_time()
    response = await client.request(FETCH, 12, fetch_body("t", 0, 0, max_wait_ms=200))
    assert trio.current_time() - start >= 0.19
    assert values_of(response.responses[0].partitions[0].records) == []


async def test_long_poll_woken_early_by_produce(client, broker):
    await create(broker)
    producer = await RawClient.connect(broker.bound_ports[0])
    try:
        async with trio.open_nursery() as nursery:
            start = trio.current_time()
            result = {}

            async def fetch():
                result["r"] = await client.request(FETCH, 12, fetch_body("t", 0, 0, max_wait_ms=10_000))

            nursery.start_soon(fetch)
            await trio.sleep(0.05)
            await producer.request(PRODUCE, 9, produce_body("t", 0, batch([b"wake"])))
        assert trio.current_time() - start < 5
        assert values_of(result["r"].responses[0].partitions[0].records) == [b"wake"]
    finally:
        await producer.aclose()


async def test_pipelined_requests_answered_in_order(client, broker):
    await create(broker)
    # A long-polling fetch first: everything after it waits for it (channel muting).
    ids = [await client.send(FETCH, 12, fetch_body("t", 0, 0, max_wait_ms=100))]
    for i in range(20):
        ids.append(await client.send(PRODUCE, 9, produce_body("t", 0, batch([b"%d" % i]))))
    ids.append(await client.send(METADATA, 9, {"topics": None}))
    received = []
    offsets = []
    for api_key, version in [(FETCH, 12)] + [(PRODUCE, 9)] * 20 + [(METADATA, 9)]:
        correlation_id, response = await client.receive(api_key, version)
        received.append(correlation_id)
        if api_key == PRODUCE:
            offsets.append(response.responses[0].partition_responses[0].base_offset)
    assert received == ids
    assert offsets == list(range(20))


# -- ListOffsets ----------------------------------------------------------------------


async def test_list_offsets(client, broker):
    await create(broker)
    for ts in (1000, 3000, 2000):
        await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"v"], timestamp_ms=ts)))

    async def list_offset(timestamp, version=9):
        body = {"replica_id": -1, "isolation_level": 0,
                "topics": [{"name": "t", "partitions": [{"partition_index": 0,
                                                         "timestamp": timestamp}]}]}
        response = await client.request(LIST_OFFSETS, version, body)
        part = response.topics[0].partitions[0]
        assert part.error_code == ErrorCode.NONE
        return part.timestamp, part.offset

    assert await list_offset(-2) == (-1, 0)
    assert await list_offset(-4) == (-1, 0)
    assert await list_offset(-1, 1) == (-1, 3)
    assert await list_offset(-3) == (3000, 1)
    assert await list_offset(1500) == (3000, 1)
    assert await list_offset(2500) == (3000, 1)
    assert await list_offset(9999) == (-1, -1)


# -- idempotence ----------------------------------------------------------------------


async def test_idempotent_duplicate_answered_with_original_offset(client, broker):
    await create(broker)
    response = await client.request(INIT_PRODUCER_ID, 4, {"transactional_id": None,
                                                           "transaction_timeout_ms": 60000})
    assert response.error_code == ErrorCode.NONE
    pid, epoch = response.producer_id, response.producer_epoch
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"other"])))
    first = batch([b"a", b"b"], producer_id=pid, producer_epoch=epoch, base_sequence=0)
    r1 = await client.request(PRODUCE, 9, produce_body("t", 0, first))
    r2 = await client.request(PRODUCE, 9, produce_body("t", 0, first))  # a retry
    assert r1.responses[0].partition_responses[0].base_offset == 1
    assert r2.responses[0].partition_responses[0].error_code == ErrorCode.NONE
    assert r2.responses[0].partition_responses[0].base_offset == 1
    assert broker.partition("t", 0).log_end_offset == 3
    gap = batch([b"c"], producer_id=pid, producer_epoch=epoch, base_sequence=5)
    r3 = await client.request(PRODUCE, 9, produce_body("t", 0, gap))
    assert r3.responses[0].partition_responses[0].error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


async def test_init_producer_id_transactional_before_find_coordinator(client):
    # No FindCoordinator yet: no __transaction_state, so this broker coordinates nothing.
    response = await client.request(INIT_PRODUCER_ID, 4, {"transactional_id": "tx",
                                                           "transaction_timeout_ms": 60000})
    assert response.error_code == ErrorCode.NOT_COORDINATOR


async def test_topics_and_data_survive_restart(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("keep", 1, {})
        client = await RawClient.connect(broker.bound_ports[0])
        await client.request(PRODUCE, 9, produce_body("keep", 0, batch([b"x", b"y"])))
        await client.aclose()
    async with open_broker(tmp_path) as broker:
        assert broker.partition("keep", 0).log_end_offset == 2
        client = await RawClient.connect(broker.bound_ports[0])
        response = await client.request(FETCH, 12, fetch_body("keep", 0, 0))
        assert values_of(response.responses[0].partitions[0].records) == [b"x", b"y"]
        await client.aclose()


async def test_two_brokers_in_one_trio_run(tmp_path):
    async with open_broker(tmp_path / "a") as a, open_broker(tmp_path / "b", node_id=2) as b:
        assert a.bound_ports != b.bound_ports
        await a.create_topic("only-a", 1, {})
        assert "only-a" not in b.topics.names()
