"""Fetch sessions (KIP-227) over the wire: a consumer-style fetcher with a session."""

from __future__ import annotations

import pytest

from broker_rawclient import RawClient, batch, fetch_body, produce_body, values_of
from minikafka.errors import ErrorCode
from minikafka.testing import open_broker

PRODUCE, FETCH = 0, 1


@pytest.fixture
async def broker(tmp_path):
    async with open_broker(tmp_path, num_partitions=2) as broker:
        await broker.create_topic("t", 2, {})
        yield broker


@pytest.fixture
async def client(broker):
    client = await RawClient.connect(broker.bound_ports[0])
    yield client
    await client.aclose()


def session_fetch(session_id: int, session_epoch: int, partitions: dict, forgotten=()) -> dict:
    """A Fetch of topic "t" naming ``{index: fetch_offset}``, in session ``session_id``."""
    body = fetch_body("t", 0, 0)
    body.update(session_id=session_id, session_epoch=session_epoch,
                topics=[{"topic": "t", "partitions": [{"partition": i, "fetch_offset": o,
                                                       "partition_max_bytes": 1 << 20}
                                                      for i, o in partitions.items()]}] if partitions else [],
                forgotten_topics_data=[{"topic": "t", "partitions": list(forgotten)}] if forgotten else [])
    return body


def answered(response) -> dict:
    return {p.partition_index: p for t in response.responses for p in t.partitions}


async def test_full_fetch_opens_a_session_and_incremental_fetches_carry_only_news(client, broker):
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"a"])))
    response = await client.request(FETCH, 12, session_fetch(0, 0, {0: 0, 1: 0}))
    session_id = response.session_id
    assert response.error_code == ErrorCode.NONE and session_id != 0
    assert values_of(answered(response)[0].records) == [b"a"] and set(answered(response)) == {0, 1}

    # Only partition 0's position moved; nothing new anywhere: an empty answer.
    response = await client.request(FETCH, 12, session_fetch(session_id, 1, {0: 1}))
    assert (response.error_code, response.session_id, response.responses) == (ErrorCode.NONE, session_id, [])

    await client.request(PRODUCE, 9, produce_body("t", 1, batch([b"b"])))
    response = await client.request(FETCH, 12, session_fetch(session_id, 2, {}))
    assert set(answered(response)) == {1}  # partition 1 of the session, named in no incremental fetch
    assert values_of(answered(response)[1].records) == [b"b"]

    response = await client.request(FETCH, 12, session_fetch(session_id, 2, {}))
    assert response.error_code == ErrorCode.INVALID_FETCH_SESSION_EPOCH


async def test_forgotten_partitions_leave_the_session(client, broker):
    response = await client.request(FETCH, 12, session_fetch(0, 0, {0: 0, 1: 0}))
    session_id = response.session_id
    await client.request(FETCH, 12, session_fetch(session_id, 1, {}, forgotten=[1]))
    await client.request(PRODUCE, 9, produce_body("t", 1, batch([b"b"])))
    await client.request(PRODUCE, 9, produce_body("t", 0, batch([b"a"])))
    response = await client.request(FETCH, 12, session_fetch(session_id, 2, {}))
    assert set(answered(response)) == {0}


async def test_epoch_minus_one_is_a_fetch_without_a_session(client, broker):
    response = await client.request(FETCH, 12, session_fetch(0, -1, {0: 0}))
    assert response.error_code == ErrorCode.NONE and response.session_id == 0
