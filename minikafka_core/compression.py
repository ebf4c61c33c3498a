"""Compression codecs of record batches: none, gzip, snappy, lz4, zstd.

A magic v2 record batch compresses everything after its 61-byte header (the
concatenated records) as one unit; bits 0-2 of the batch ``attributes`` name
the codec. This module turns those bytes into the codec's wire form and back,
choosing the exact framing that Apache Kafka's Java client writes so that
every client can read what we write:

====  ======  ==============================================================
 id   name    wire form
====  ======  ==============================================================
 0    none    the records as they are
 1    gzip    a gzip member (RFC 1952), as ``java.util.zip.GZIPOutputStream``
 2    snappy  xerial snappy-java framing: 16-byte header ``0x82 "SNAPPY" 0``,
              int32 version 1, int32 compatible version 1, then blocks of
              ``int32 length + raw snappy block`` (each block compresses at
              most 32 KiB of input). librdkafka may instead write one *raw*
              snappy block with no header: we read both.
 3    lz4     the LZ4 *frame* format (KIP-57 fixed Kafka's broken header
              checksum in 0.10), 64 KiB independent blocks, no checksums
 4    zstd    standard zstd frames (KIP-110); Java's streaming encoder omits
              the content size, so we decompress as a stream
====  ======  ==============================================================

Default levels are Kafka 4.0's (KIP-390): gzip 6 (zlib's default), lz4 9,
zstd 3. The ``cramjam`` package provides snappy, lz4 and zstd (one wheel-only
dependency for three codecs); gzip comes from the standard library.

Errors: an unknown codec id or corrupt compressed input raises ``ValueError``
with a message that names the codec, never the codec library's own exception
type, so callers (batch validation, ``dump-log``) need to catch one thing.

This module is plain Python; ``setup.py`` may also compile it with Cython.
"""

from __future__ import annotations

import struct
import zlib

import cramjam

NONE = 0
GZIP = 1
SNAPPY = 2
LZ4 = 3
ZSTD = 4

CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
"""Codec id (batch attributes bits 0-2) -> Kafka's ``compression.type`` name."""

CODEC_IDS = {name: codec for codec, name in CODEC_NAMES.items()}
"""Kafka's ``compression.type`` name -> codec id."""

DEFAULT_LEVELS = {GZIP: 6, LZ4: 9, ZSTD: 3}
"""Kafka 4.0's ``compression.<codec>.level`` defaults (KIP-390)."""

# --- xerial snappy-java framing -----------------------------------------
# snappy-java's SnappyOutputStream header: a magic marker byte (-126, i.e.
# 0x82), the C string "SNAPPY" with its NUL, then two big-endian int32s: the
# format version and the oldest version able to read it (both 1 in the wild).
XERIAL_MAGIC = b"\x82SNAPPY\x00"
XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
XERIAL_BLOCK_SIZE = 32 * 1024  # snappy-java's default block size
_INT32 = struct.Struct(">i")

# --- lz4 frame -----------------------------------------------------------
# Magic 0x184D2204 (little-endian), FLG 0x60 (version 01, independent blocks,
# no block checksum, no content size, no content checksum), BD 0x40 (64 KiB
# maximum block size), then the header checksum: the second byte of
# xxHash32(FLG, BD). With FLG and BD fixed, that checksum is the constant
# 0x82. (Kafka before 0.10 hashed the magic too: the bug KIP-57 fixed.)
LZ4_FRAME_HEADER = b"\x04\x22\x4d\x18\x60\x40\x82"
LZ4_BLOCK_SIZE = 64 * 1024
_LZ4_UNCOMPRESSED_BIT = 0x80000000
_UINT32_LE = struct.Struct("<I")

# --- gzip ----------------------------------------------------------------
# wbits = 16 + 15: a gzip wrapper around a 32 KiB-window deflate stream.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# magic (2 bytes), method, flags, mtime, extra flags (XFL), OS; then the
# trailer: CRC-32 and size modulo 2**32 of the uncompressed data.
_GZIP_HEADER = struct.Struct("<BBBBIBB")
_GZIP_TRAILER = struct.Struct("<II")


def compress(codec: int, data, level: int | None = None) -> bytes:
    """Compress ``data`` as codec ``codec`` writes it on the wire.

    Args:
        codec: Codec id as in the batch attributes (0 none ... 4 zstd).
        data: Any bytes-like object (the concatenated records).
        level: Compression level; ``None`` means Kafka's default for the
            codec. Ignored by ``none`` and ``snappy``, which have no levels.

    Returns:
        The compressed bytes (a copy of ``data`` for codec 0).

    Raises:
        ValueError: ``codec`` is not a known codec id.
    """
    if codec == NONE:
        return bytes(data)
    if level is None:
        level = DEFAULT_LEVELS.get(codec, 0)
    if codec == GZIP:
        return _gzip_compress(data, level)
    if codec == SNAPPY:
        return _xerial_snappy_compress(data)
    if codec == LZ4:
        return _lz4_compress(data, level)
    if codec == ZSTD:
        return bytes(cramjam.zstd.compress(data, level=level))
    raise ValueError(_unknown_codec_message(codec))


def decompress(codec: int, data) -> bytes:
    """Decompress ``data`` written by any Kafka client with codec ``codec``.

    Args:
        codec: Codec id as in the batch attributes (0 none ... 4 zstd).
        data: Any bytes-like object (a batch's compressed records).

    Returns:
        The uncompressed bytes.

    Raises:
        ValueError: ``codec`` is unknown, or ``data`` is not valid (corrupt,
            truncated, or followed by garbage) for that codec.
    """
    if codec == NONE:
        return bytes(data)
    if codec not in CODEC_NAMES:
        raise ValueError(_unknown_codec_message(codec))
    try:
        if codec == GZIP:
            return _gzip_decompress(data)
        if codec == SNAPPY:
            return _snappy_decompress(data)
        if codec == LZ4:
            return bytes(cramjam.lz4.decompress(data))
        return bytes(cramjam.zstd.decompress(data))
    except ValueError as exc:
        raise ValueError(f"corrupt {CODEC_NAMES[codec]} data: {exc}") from None
    except (cramjam.DecompressionError, zlib.error) as exc:
        # Re-raise as the ValueError callers expect, keeping the library's
        # message (it says what was wrong) but not its type.
        raise ValueError(f"corrupt {CODEC_NAMES[codec]} data: {exc}") from None


def _unknown_codec_message(codec: int) -> str:
    known = ", ".join(f"{i} {name}" for i, name in CODEC_NAMES.items())
    return f"unknown compression codec id {codec} (known: {known})"


# --- gzip ----------------------------------------------------------------


def _gzip_compress(data, level: int) -> bytes:
    """One gzip member with a fixed header, like Java's GZIPOutputStream.

    The header (RFC 1952) is ours rather than zlib's so that it does not
    depend on the platform or Python version: mtime 0 and no file name (the
    same records always compress to the same bytes), XFL 2/4 for the
    best/fastest level as the RFC says (0 otherwise, as Java writes at Kafka's
    default level 6), OS 255 "unknown" (Java since JDK 16, Python's gzip).
    """
    xfl = 2 if level == 9 else 4 if level == 1 else 0
    header = _GZIP_HEADER.pack(0x1F, 0x8B, zlib.DEFLATED, 0, 0, xfl, 255)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate
    body = compressor.compress(data) + compressor.flush()
    trailer = _GZIP_TRAILER.pack(zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return header + body + trailer


def _gzip_decompress(data) -> bytes:
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    out = decompressor.decompress(data)
    if not decompressor.eof:
        raise ValueError("truncated gzip stream")
    # Java writes one gzip member; accept concatenated members as RFC 1952
    # (and Python's gzip module) do.
    rest = decompressor.unused_data
    if rest:
        return out + _gzip_decompress(rest)
    return out


# --- snappy --------------------------------------------------------------


def _xerial_snappy_compress(data) -> bytes:
    view = memoryview(data)
    parts = [XERIAL_HEADER]
    for start in range(0, len(view), XERIAL_BLOCK_SIZE):
        block = bytes(cramjam.snappy.compress_raw(view[start : start + XERIAL_BLOCK_SIZE]))
        parts.append(_INT32.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _snappy_decompress(data) -> bytes:
    view = memoryview(data)
    # Only the 8 magic bytes identify the framing: the version and compat
    # fields are ignored, as snappy-java and librdkafka do (some producers
    # write them little-endian).
    if len(view) >= len(XERIAL_HEADER) and view[: len(XERIAL_MAGIC)] == XERIAL_MAGIC:
        return _xerial_snappy_decompress(view)
    return bytes(cramjam.snappy.decompress_raw(view))


def _xerial_snappy_decompress(view: memoryview) -> bytes:
    parts = []
    pos = len(XERIAL_HEADER)
    while pos < len(view):
        if len(view) - pos < 4:
            raise ValueError(f"truncated xerial block length at byte {pos}")
        (block_size,) = _INT32.unpack_from(view, pos)
        pos += 4
        if block_size < 0 or pos + block_size > len(view):
            raise ValueError(f"xerial block of {block_size} bytes at byte {pos} overruns the input")
        parts.append(bytes(cramjam.snappy.decompress_raw(view[pos : pos + block_size])))
        pos += block_size
    return b"".join(parts)


# --- lz4 -----------------------------------------------------------------


def _lz4_compress(data, level: int) -> bytes:
    """An LZ4 frame exactly as Kafka's KafkaLZ4BlockOutputStream writes it.

    Written by hand because cramjam's frame encoder always adds block
    checksums. Layout: the frame header (magic, FLG, BD, header checksum),
    then per 64 KiB of input one block -- a little-endian uint32 size, whose
    high bit marks a block stored uncompressed because compression did not
    shrink it -- and an end mark of four zero bytes. No content checksum.
    """
    view = memoryview(data).cast("B")
    # Kafka uses lz4-java's fast compressor at its default level and the
    # high-compression one for any other level (KIP-390).
    mode = "default" if level == DEFAULT_LEVELS[LZ4] else "high_compression"
    parts = [LZ4_FRAME_HEADER]
    for start in range(0, len(view), LZ4_BLOCK_SIZE):
        chunk = bytes(view[start : start + LZ4_BLOCK_SIZE])
        block = bytes(cramjam.lz4.compress_block(chunk, mode=mode, compression=level, store_size=False))
        if len(block) >= len(chunk):
            parts.append(_UINT32_LE.pack(len(chunk) | _LZ4_UNCOMPRESSED_BIT))
            parts.append(chunk)
        else:
            parts.append(_UINT32_LE.pack(len(block)))
            parts.append(block)
    parts.append(_UINT32_LE.pack(0))  # end mark
    return b"".join(parts)
