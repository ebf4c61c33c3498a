# C types for records.py (Cython pure-Python mode: this file only adds types).
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t

cimport cython


@cython.final
cdef class RecordReader:
    cdef const unsigned char[::1] buf
    cdef public Py_ssize_t pos
    cdef public Py_ssize_t end

    @cython.locals(raw=uint64_t, byte=uint64_t, shift=int)
    cpdef int64_t varlong(self) except? -1
    @cython.locals(raw=uint64_t, byte=uint64_t, shift=int)
    cpdef int32_t varint(self) except? -1
    cpdef skip_bytes(self, int32_t length)


@cython.locals(raw=uint64_t)
cdef uint64_t _zigzag(int64_t value) noexcept

@cython.locals(raw=uint64_t, size=int)
cpdef int varint_size(int64_t value) noexcept

@cython.locals(raw=uint64_t, byte=int)
cpdef int append_varint(bytearray out, int64_t value) except -1


@cython.final
cdef class Record:
    cdef readonly int64_t offset
    cdef readonly int64_t timestamp
    cdef readonly object key
    cdef readonly object value
    cdef readonly list headers


cpdef bytes encode_record(int64_t offset_delta, int64_t timestamp_delta, key, value, headers=*)

@cython.locals(key_length=Py_ssize_t, value_length=Py_ssize_t, header_value_length=Py_ssize_t,
               body_size=Py_ssize_t, size=Py_ssize_t)
cpdef Py_ssize_t append_record(bytearray out, int64_t offset_delta, int64_t timestamp_delta, key,
                               value, headers=*, Py_ssize_t max_size=*) except -1

cdef int _append_bytes(bytearray out, data, Py_ssize_t length) except -1


@cython.locals(reader=RecordReader, records=list, i=int32_t, length=int32_t,
               record_end=Py_ssize_t, timestamp_delta=int64_t, offset_delta=int32_t,
               header_count=int32_t, headers=list, record=Record)
cpdef list decode_records(bytes data, Py_ssize_t start, Py_ssize_t end, int64_t base_offset,
                          int64_t base_timestamp, int64_t log_append_time, int32_t record_count)

@cython.locals(length=int32_t, start=Py_ssize_t)
cdef object _read_bytes(RecordReader reader, bytes data)


@cython.final
cdef class Batch:
    cdef readonly Py_ssize_t position
    cdef readonly int64_t base_offset
    cdef readonly int32_t batch_length
    cdef readonly int32_t partition_leader_epoch
    cdef readonly int magic
    cdef readonly uint32_t crc
    cdef readonly int16_t attributes
    cdef readonly int32_t last_offset_delta
    cdef readonly int64_t base_timestamp
    cdef readonly int64_t max_timestamp
    cdef readonly int64_t producer_id
    cdef readonly int16_t producer_epoch
    cdef readonly int32_t base_sequence
    cdef readonly int32_t record_count
    cdef public bint crc_valid
    cdef public object records


cdef Batch _parse_batch_at(bytes data, Py_ssize_t start, Py_ssize_t available, Py_ssize_t position,
                           bint decode_records)

cdef list _decode_batch_records(Batch batch, bytes data, Py_ssize_t start, Py_ssize_t end)
