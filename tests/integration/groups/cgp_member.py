"""A librdkafka consumer with ``group.protocol=consumer`` in its own process (not a test module).

Usage: ``python cgp_member.py BOOTSTRAP GROUP TOPIC OUT``.

For every record it appends ``R <partition> <offset> <value>`` to OUT, *then*
commits that record's offset synchronously (processing, then commit). With
the KIP-848 protocol librdkafka hands out assignments incrementally: each
``on_assign`` appends ``A <partitions added>``, each ``on_revoke``
``V <partitions removed>``; a failed commit appends ``E <error>``. Lines are
single ``os.write`` calls on an O_APPEND file, so a SIGKILL never leaves half
a line. SIGTERM closes the consumer cleanly (it leaves the group: epoch -1).

Session timeout and heartbeat interval are the broker's in this protocol
(``group.consumer.*``): librdkafka refuses the classic client settings.
"""

from __future__ import annotations

import os
import signal
import sys

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True


def main(bootstrap: str, group: str, topic: str, out_path: str) -> None:
    from confluent_kafka import Consumer, KafkaException

    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def line(text: str) -> None:
        os.write(fd, (text + "\n").encode())

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(
        [topic],
        on_assign=lambda c, ps: line("A " + " ".join(str(p.partition) for p in ps)),
        on_revoke=lambda c, ps: line("V " + " ".join(str(p.partition) for p in ps)))
    while not stopping:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        line(f"R {msg.partition()} {msg.offset()} {msg.value().decode()}")
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException as exc:
            line(f"E {exc}")
    consumer.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    main(*sys.argv[1:5])
