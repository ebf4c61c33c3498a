"""minikafka_core.compression: round trips, Kafka's framings, corrupt input.

Every test runs against the module as imported (compiled by Cython when built)
and against its pure-Python source.
"""

import importlib.util
import pathlib
import random
import struct
import zlib

import cramjam
import pytest
from aiokafka import codec as aiokafka_codec
from hypothesis import given, settings
from hypothesis import strategies as st

import minikafka_core.compression
from minikafka_core.compression import CODEC_NAMES

CODECS = sorted(CODEC_NAMES)
SAMPLE = bytes(range(256)) * 40 + b"kafka " * 20000  # > one 32 KiB snappy block


def _load_pure_source():
    source = pathlib.Path(minikafka_core.__file__).with_name("compression.py")
    spec = importlib.util.spec_from_file_location("minikafka_core_pure_compression", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["as-imported", "pure"])
def compression(request):
    return minikafka_core.compression if request.param == "as-imported" else _load_pure_source()


@pytest.fixture(scope="module")
def compress(compression):
    return compression.compress


@pytest.fixture(scope="module")
def decompress(compression):
    return compression.decompress


def test_codec_names_match_kafka_compression_type():
    assert CODEC_NAMES == {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


@settings(max_examples=40, deadline=None)
@given(codec=st.sampled_from(CODECS), data=st.binary(max_size=3000))
def test_round_trip_every_codec(compress, decompress, codec, data):
    assert decompress(codec, compress(codec, data)) == data


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_large_and_bytes_like_input(compress, decompress, codec):
    packed = compress(codec, bytearray(SAMPLE))
    assert decompress(codec, memoryview(packed)) == SAMPLE


@pytest.mark.parametrize("codec", [5, 7, -1])
def test_unknown_codec_is_a_value_error(compress, decompress, codec):
    with pytest.raises(ValueError, match="unknown compression codec id"):
        compress(codec, b"x")
    with pytest.raises(ValueError, match="unknown compression codec id"):
        decompress(codec, b"x")


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_corrupt_input_is_a_value_error_naming_the_codec(compress, decompress, codec):
    good = compress(codec, SAMPLE)
    for bad in (good[: len(good) // 2], b"\x00not compressed at all\xff" * 3):
        with pytest.raises(ValueError, match=f"corrupt {CODEC_NAMES[codec]} data"):
            decompress(codec, bad)


def test_gzip_is_deterministic_with_a_java_like_header(compress, decompress):
    packed = compress(1, SAMPLE)
    # magic, deflate, no flags, mtime 0, XFL 0 at the default level 6, OS 255
    assert packed[:10] == bytes.fromhex("1f8b08000000000000ff")
    assert packed == compress(1, SAMPLE)
    assert zlib.decompress(packed, 16 + zlib.MAX_WBITS) == SAMPLE


def test_gzip_reads_concatenated_members(compress, decompress):
    assert decompress(1, compress(1, b"abc") + compress(1, b"def")) == b"abcdef"


def test_snappy_writes_xerial_framing_like_java(compress, decompress):
    packed = compress(2, SAMPLE)
    assert packed[:16] == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    # blocks of at most 32 KiB of input, each length-prefixed
    first_block_length = struct.unpack_from(">i", packed, 16)[0]
    first_block = packed[20 : 20 + first_block_length]
    assert bytes(cramjam.snappy.decompress_raw(first_block)) == SAMPLE[: 32 * 1024]


def test_snappy_reads_raw_blocks_as_librdkafka_may_write(compress, decompress):
    assert decompress(2, bytes(cramjam.snappy.compress_raw(SAMPLE))) == SAMPLE
    assert decompress(2, aiokafka_codec.snappy_encode(SAMPLE, xerial_compatible=False)) == SAMPLE


def test_lz4_writes_kafka_frame_descriptor(compress, decompress):
    packed = compress(3, SAMPLE)
    assert packed[:4] == b"\x04\x22\x4d\x18"  # LZ4 frame magic
    # FLG 0x60: version 01, independent blocks, no checksums, no content
    # size; BD 0x40: 64 KiB blocks; HC 0x82 (Kafka's KafkaLZ4BlockOutputStream)
    assert packed[4:7] == b"\x60\x40\x82"
    assert packed[-4:] == b"\x00\x00\x00\x00"  # end mark, no content checksum
    # incompressible input is stored raw, flagged by the size's high bit
    raw = random.Random(0).randbytes(1000)
    stored = compress(3, raw)
    assert struct.unpack_from("<I", stored, 7)[0] == 0x80000000 | len(raw)


def test_zstd_reads_frames_without_content_size_and_several_frames(compress, decompress):
    streaming = cramjam.zstd.Compressor(level=3)
    streaming.compress(SAMPLE)
    frame = bytes(streaming.finish())
    assert decompress(4, frame) == SAMPLE
    assert decompress(4, frame + compress(4, b"tail")) == SAMPLE + b"tail"


@pytest.mark.parametrize(
    "codec, their_encode, their_decode",
    [
        (1, aiokafka_codec.gzip_encode, aiokafka_codec.gzip_decode),
        (2, aiokafka_codec.snappy_encode, aiokafka_codec.snappy_decode),
        (3, aiokafka_codec.lz4_encode, aiokafka_codec.lz4_decode),
        (4, aiokafka_codec.zstd_encode, aiokafka_codec.zstd_decode),
    ],
)
def test_interoperates_with_aiokafka_codecs(compress, decompress, codec, their_encode, their_decode):
    assert decompress(codec, their_encode(SAMPLE)) == SAMPLE
    assert their_decode(compress(codec, SAMPLE)) == SAMPLE


def test_kafka_python_gzip_reads_ours_and_we_read_theirs(compress, decompress):
    from kafka import codec as kafka_codec

    assert kafka_codec.gzip_decode(compress(1, SAMPLE)) == SAMPLE
    assert decompress(1, kafka_codec.gzip_encode(SAMPLE)) == SAMPLE


def test_default_levels_are_kafkas(compression):
    assert compression.DEFAULT_LEVELS == {1: 6, 3: 9, 4: 3}
