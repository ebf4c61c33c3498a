"""Garbage at the socket never takes the broker down.

Random bytes, truncated frames, absurd sizes, unknown API keys and versions:
each gets a closed connection (or Kafka's error code), and a well-behaved
client on another connection keeps being served throughout.
"""

from __future__ import annotations

import random
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from .clients import confluent_consume, confluent_produce


def send_raw(port: int, payload: bytes, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if not read:
            return b""
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def api_versions_request(version: int, correlation_id: int = 7) -> bytes:
    header = struct.pack(">hhih", 18, version, correlation_id, 4) + b"test"
    if version >= 3:
        header += b"\x00"  # header tagged fields
        body = b"\x05test\x041.0\x00"  # compact client_software_name/version, no tags
    else:
        body = b""
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def still_serving(broker, topic):
    confluent_produce(broker.bootstrap, topic, [(None, b"alive", None, None)])
    return confluent_consume(broker.bootstrap, topic, 0, 1)[-1].value() == b"alive"


def test_unknown_api_version_gets_v0_fallback(broker):
    reply = send_raw(broker.port, api_versions_request(version=99))
    size, correlation_id, error_code = struct.unpack(">iih", reply[:10])
    assert correlation_id == 7 and error_code == 35  # UNSUPPORTED_VERSION
    (count,) = struct.unpack(">i", reply[10:14])
    api_keys = {struct.unpack(">h", reply[14 + 6 * i:16 + 6 * i])[0] for i in range(count)}
    assert 18 in api_keys and 0 in api_keys and 1 in api_keys


@pytest.mark.parametrize("payload", [
    b"\xff\xff\xff\xff",                                  # negative size
    struct.pack(">i", 2**31 - 1) + b"x" * 100,            # absurd size
    struct.pack(">i", 200 * 1024 * 1024),                 # over socket.request.max.bytes
    struct.pack(">i", 12) + struct.pack(">hhi", 9999, 0, 1) + b"\0\0",  # unknown API key
    struct.pack(">i", 10) + struct.pack(">hhi", 3, 999, 1),            # unknown Metadata version
    struct.pack(">i", 50) + b"\x00\x03\x00\x0c" + b"\xff" * 46,        # garbage Metadata body
    api_versions_request(3)[:-3],                         # truncated frame
])
def test_bad_frames_close_only_their_connection(broker, topic, payload):
    send_raw(broker.port, payload)
    assert broker.alive()
    assert still_serving(broker, topic)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=1, max_size=300), st.sampled_from([0, 1, 2, 3, 18, 19]))
def test_random_bytes_never_crash_the_broker(broker, data, api_key):
    # Random bodies behind a plausible header reach the decoders, not just the framing.
    framed = struct.pack(">ihhi", 8 + len(data), api_key, random.randint(0, 12), 1) + data
    send_raw(broker.port, framed, read=False)
    send_raw(broker.port, data, read=False)
    assert broker.alive()


def test_served_after_garbage_storm(broker, topic):
    rng = random.Random(1234)
    for _ in range(200):
        send_raw(broker.port, rng.randbytes(rng.randint(1, 2000)), read=False)
    assert broker.alive()
    assert still_serving(broker, topic)
