"""A consumer-group member in its own process, for the real-client tests (not a test module).

Usage: ``python group_member.py CLIENT BOOTSTRAP GROUP TOPIC OUT [key=value ...]``
with CLIENT one of ``confluent``, ``kafka-python``, ``aiokafka``; the
``key=value`` pairs are extra client settings (confluent's names; for the
Python clients ``group.instance.id`` and ``partition.assignment.strategy`` are
understood).

For every record it appends ``R <partition> <offset> <value>`` to OUT, *then*
commits that record's offset synchronously: processing, then commit. Each
assignment appends ``A <partitions>``; a failed commit
``E <partition> <offset> <error>``. A failed commit means the group has moved
on (a rebalance): the Python clients hand over records in batches, so the
member puts the rest of its batch back (seeks to it) instead of processing
records whose partitions may already belong to another member. Lines
are single ``os.write`` calls on an O_APPEND file, so a SIGKILL never leaves
half a line. SIGTERM closes the consumer cleanly (LeaveGroup).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True


class Out:
    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def line(self, text: str) -> None:
        os.write(self.fd, (text + "\n").encode())


def records_of(batches):
    """``(partition, record)`` pairs of a poll's batches, in order."""
    for tp, records in batches.items():
        for record in records:
            yield tp, record


def put_back(consumer, batches, failed_tp, failed_record, kafka_error) -> None:
    """Seek each partition of ``batches`` back to its first unprocessed record.

    Records were processed in ``records_of`` order up to ``failed_record``:
    its partition resumes after it, the partitions after it from their first
    record. A partition no longer assigned cannot be sought: its next owner
    starts from the committed offset, which is what we want.
    """
    firsts, reached = {}, False
    for tp, records in batches.items():
        if tp == failed_tp:
            firsts[tp], reached = failed_record.offset + 1, True
        elif reached and records:
            firsts[tp] = records[0].offset
    for partition, offset in firsts.items():
        try:
            consumer.seek(partition, offset)
        except (kafka_error, AssertionError):
            pass


def run_confluent(bootstrap, group, topic, out, extra):
    from confluent_kafka import Consumer, KafkaException

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS, **extra})

    def on_assign(consumer, partitions):
        out.line("A " + " ".join(str(p.partition) for p in partitions))

    consumer.subscribe([topic], on_assign=on_assign)
    while not stopping:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        out.line(f"R {msg.partition()} {msg.offset()} {msg.value().decode()}")
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException as exc:
            out.line(f"E {msg.partition()} {msg.offset()} {exc}")
    consumer.close()


def run_kafka_python(bootstrap, group, topic, out, extra):
    from kafka import KafkaConsumer
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass

        def on_partitions_assigned(self, assigned):
            out.line("A " + " ".join(str(tp.partition) for tp in assigned))

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        group_instance_id=extra.get("group.instance.id"))
    consumer.subscribe([topic], listener=Listener())
    while not stopping:
        batches = consumer.poll(timeout_ms=200)
        for tp, record in records_of(batches):
            out.line(f"R {tp.partition} {record.offset} {record.value.decode()}")
            try:
                consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
            except KafkaError as exc:
                out.line(f"E {tp.partition} {record.offset} {exc!r}")
                put_back(consumer, batches, tp, record, KafkaError)
                break
    consumer.close()


async def run_aiokafka(bootstrap, group, topic, out, extra):
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
    from aiokafka.errors import KafkaError

    class Listener(ConsumerRebalanceListener):
        async def on_partitions_revoked(self, revoked):
            pass

        async def on_partitions_assigned(self, assigned):
            out.line("A " + " ".join(str(tp.partition) for tp in assigned))

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        group_instance_id=extra.get("group.instance.id"))
    consumer.subscribe([topic], listener=Listener())
    await consumer.start()
    try:
        while not stopping:
            batches = await consumer.getmany(timeout_ms=200)
            for tp, record in records_of(batches):
                out.line(f"R {tp.partition} {record.offset} {record.value.decode()}")
                try:
                    await consumer.commit({tp: record.offset + 1})
                except KafkaError as exc:
                    out.line(f"E {tp.partition} {record.offset} {exc!r}")
                    put_back(consumer, batches, tp, record, KafkaError)
                    break
    finally:
        await consumer.stop()


def main(argv):
    client, bootstrap, group, topic, path, *pairs = argv
    extra = dict(pair.split("=", 1) for pair in pairs)
    signal.signal(signal.SIGTERM, on_sigterm)
    out = Out(path)
    if client == "confluent":
        run_confluent(bootstrap, group, topic, out, extra)
    elif client == "kafka-python":
        run_kafka_python(bootstrap, group, topic, out, extra)
    elif client == "aiokafka":
        asyncio.run(run_aiokafka(bootstrap, group, topic, out, extra))
    else:
        raise SystemExit(f"unknown client {client}")
    out.line("CLOSED")


if __name__ == "__main__":
    main(sys.argv[1:])
