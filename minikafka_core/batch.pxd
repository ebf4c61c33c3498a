# C types for batch.py (Cython pure-Python mode: this file only adds types).
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t

cimport cython

from minikafka_core.records cimport RecordReader


@cython.locals(value=uint32_t)
cpdef uint32_t read_uint32(const unsigned char[::1] buf, Py_ssize_t pos) noexcept
@cython.locals(value=uint32_t)
cpdef int32_t read_int32(const unsigned char[::1] buf, Py_ssize_t pos) noexcept
cpdef int16_t read_int16(const unsigned char[::1] buf, Py_ssize_t pos) noexcept
cpdef int64_t read_int64(const unsigned char[::1] buf, Py_ssize_t pos) noexcept


@cython.final
cdef class BatchInfo:
    cdef readonly Py_ssize_t position
    cdef readonly Py_ssize_t size
    cdef readonly int64_t base_offset
    cdef readonly int32_t last_offset_delta
    cdef readonly int64_t first_timestamp
    cdef readonly int64_t max_timestamp
    cdef readonly int64_t producer_id
    cdef readonly int16_t producer_epoch
    cdef readonly int32_t base_sequence
    cdef readonly int32_t record_count
    cdef readonly int16_t attributes
    cdef readonly int32_t partition_leader_epoch
    cdef readonly uint32_t crc


@cython.locals(i=int32_t, length=int32_t, body_end=Py_ssize_t, outer_end=Py_ssize_t,
               timestamp=int64_t, max_timestamp=int64_t, offset_delta=int32_t,
               header_count=int32_t, h=int32_t, key_length=int32_t)
cpdef int64_t walk_records(RecordReader reader, int32_t record_count, int64_t base_timestamp,
                           int64_t min_timestamp, int64_t max_timestamp_allowed) except? -2


cpdef BatchInfo read_batch_header(const unsigned char[::1] buf, Py_ssize_t pos)


@cython.locals(pos=Py_ssize_t, end=Py_ssize_t, size=Py_ssize_t, last_offset=int64_t,
               n=Py_ssize_t, header=Py_ssize_t)
cpdef tuple scan_read_range(const unsigned char[::1] buf, int64_t offset, int64_t max_offset,
                            Py_ssize_t max_bytes, bint min_one_batch)
