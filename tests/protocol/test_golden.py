"""Golden request frames captured from real clients decode and re-encode exactly.

The frames in ``golden/`` were written by ``capture_golden.py`` (kafka-python,
confluent-kafka, aiokafka and kcat talking to a reference broker). Each one
must decode with our declarations (header and body) and encode back to the
very same bytes: the strongest check that a declaration matches what real
clients send.
"""

from pathlib import Path

import pytest

from minikafka.protocol import codec, framing, messages

GOLDEN_DIR = Path(__file__).with_name("golden")
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.bin"))


def test_golden_frames_were_captured_from_every_client():
    clients = {"kafka-python", "confluent", "aiokafka", "kcat"}
    seen = {client for client in clients for f in GOLDEN_FILES if f"_{client}" in f.name}
    assert seen == clients


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[f.stem for f in GOLDEN_FILES])
def test_golden_request_roundtrip(path):
    frame = path.read_bytes()
    header, offset = framing.read_request_header(frame)
    api_key, version = header.request_api_key, header.request_api_version
    message = messages.REQUESTS[api_key]
    assert path.name.startswith(f"{_snake(messages.API_NAMES[api_key])}_v{version}_")
    header_version = framing.request_header_version(api_key, version, message)
    assert codec.encode(framing.REQUEST_HEADER, header, header_version) == frame[:offset]
    body_bytes = frame[offset:]
    if _is_librdkafka_metadata_quirk(api_key, version, body_bytes):
        body_bytes = body_bytes[:-3]
    body = message.decode(body_bytes, version, strict=True)
    assert message.encode(body, version) == body_bytes
    rebuilt = framing.encode_request(api_key, version, header.correlation_id,
                                     header.client_id, body)
    assert rebuilt[4:] == frame[:offset] + body_bytes


def _is_librdkafka_metadata_quirk(api_key, version, body):
    """librdkafka (2.16 still does) writes a null topic array in flexible Metadata
    requests as the varint 0 padded to four bytes. Kafka reads the varint,
    then takes two padding bytes as the booleans and one as the (empty)
    tagged-field section, and ignores the last three real bytes. We decode
    the same way (trailing bytes ignored), so the re-encoding is the frame
    without its last three bytes.
    """
    if api_key != 3 or version < 9 or not body.startswith(b"\x00\x00\x00\x00"):
        return False
    decoded = messages.REQUESTS[3].decode(body, version)  # lenient, like Kafka
    assert decoded.topics is None and decoded.allow_auto_topic_creation is False
    return True


def test_trailing_bytes_are_ignored_like_kafka():
    """A Metadata v12 all-topics request as librdkafka 2.16 sends it."""
    body = bytes.fromhex("00000000010000")
    decoded = messages.REQUESTS[3].decode(body, 12)
    assert decoded.topics is None
    with pytest.raises(codec.DecodeError):
        messages.REQUESTS[3].decode(body, 12, strict=True)


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))
