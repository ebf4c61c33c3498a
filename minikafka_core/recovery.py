"""Recovery: find the valid prefix of a segment's ``.log`` after a crash.

Appends go to the page cache with ``os.write``; a crash of the machine (or a
full disk) can leave the end of the active segment torn: a batch cut short,
zeros, or garbage. At start-up the log re-reads every segment after its
recovery point, batch by batch, like Kafka's ``LogSegment.recover``:

- the batch header must be complete, ``batch_length`` sane, magic 2;
- the whole batch must be there and its CRC-32C must match;
- offsets must go up (a batch's base offset >= the previous batch's next).

The first batch that fails ends the valid prefix; the caller truncates the
file there and rebuilds the segment's indexes from the batches it saw.
Scanning reads large chunks (one ``pread`` per chunk, not per batch).
"""

from __future__ import annotations

import os

import crc32c

from minikafka_core.batch import read_batch_header
from minikafka_core.batch import read_int32 as _read_int32
from minikafka_core.records import (ATTRIBUTES_POS, BATCH_LENGTH_POS, CURRENT_MAGIC, HEADER_SIZE,
                                    LOG_OVERHEAD, MAGIC_POS)

CHUNK_BYTES = 8 * 1024 * 1024


def scan_valid_batches(fd: int, file_size: int, on_batch, expected_offset: int = 0,
                       max_batch_bytes: int = 2**31 - 1) -> tuple[int, str | None]:
    """Walk the batches of a ``.log`` file, stopping at the first bad one.

    Args:
        fd: the file, opened for reading.
        file_size: its size in bytes.
        on_batch: called as ``on_batch(info, position)`` for each valid batch,
            in order (``info.position`` is relative to an internal chunk).
        expected_offset: the lowest base offset the first batch may have.
        max_batch_bytes: larger batch sizes count as corruption.

    Returns:
        ``(valid_size, problem)``: the end of the last valid batch, and why
        the scan stopped before ``file_size`` (``None`` if it did not).
    """
    position = 0
    while position < file_size:
        chunk = os.pread(fd, min(CHUNK_BYTES, file_size - position), position)
        consumed, problem, expected_offset = _scan_chunk(chunk, position, file_size, on_batch,
                                                         expected_offset, max_batch_bytes)
        position += consumed
        if problem is not None:
            return position, problem
        if consumed == 0:  # one batch is larger than a chunk: read it whole
            size = _read_int32(chunk, BATCH_LENGTH_POS) + LOG_OVERHEAD
            chunk = os.pread(fd, size, position)
            consumed, problem, expected_offset = _scan_chunk(chunk, position, file_size, on_batch,
                                                             expected_offset, max_batch_bytes)
            position += consumed
            if problem is not None:
                return position, problem
    return position, None


def _scan_chunk(chunk, chunk_position, file_size, on_batch, expected_offset, max_batch_bytes):
    """Validate the whole batches in ``chunk``; return (bytes used, problem, next offset)."""
    pos = 0
    n = len(chunk)
    while pos < n:
        remaining_in_file = file_size - chunk_position - pos
        if remaining_in_file < HEADER_SIZE:
            return pos, f"{remaining_in_file} trailing bytes are too short for a batch header", expected_offset
        if n - pos < HEADER_SIZE:
            break  # the header continues in the next chunk
        size = _read_int32(chunk, pos + BATCH_LENGTH_POS) + LOG_OVERHEAD
        if size < HEADER_SIZE or size > max_batch_bytes:
            return pos, f"invalid batch size {size}", expected_offset
        if chunk[pos + MAGIC_POS] != CURRENT_MAGIC:
            return pos, f"invalid magic {chunk[pos + MAGIC_POS]}", expected_offset
        if size > remaining_in_file:
            return pos, f"batch of {size} bytes cut short at {remaining_in_file} bytes", expected_offset
        if n - pos < size:
            break
        info = read_batch_header(chunk, pos)
        if crc32c.crc32c(memoryview(chunk)[pos + ATTRIBUTES_POS:pos + size]) != info.crc:
            return pos, f"CRC mismatch in the batch at offset {info.base_offset}", expected_offset
        if info.base_offset < expected_offset or info.last_offset_delta < 0:
            return pos, f"batch offset {info.base_offset} goes backwards (expected >= {expected_offset})", expected_offset
        on_batch(info, chunk_position + pos)
        expected_offset = info.next_offset
        pos += size
    return pos, None, expected_offset
