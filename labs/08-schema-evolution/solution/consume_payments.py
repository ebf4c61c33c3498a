"""Read every payment, decoded with a reader schema of your choice.

    python solution/consume_payments.py --bootstrap-server 127.0.0.1:9092 \
        --schema-registry-url http://127.0.0.1:8081 --reader-schema schemas/payment-v1.avsc

Each record names its writer schema by id; Avro's schema resolution then
turns the writer's data into the reader's shape: a field the reader has and
the writer lacked gets its default, a field the writer had and the reader
lacks is skipped. That is exactly what a compatibility level promises.
"""

import argparse
import json

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

TOPIC = "payments"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--schema-registry-url", default="http://127.0.0.1:8081")
    parser.add_argument("--reader-schema", required=True)
    args = parser.parse_args()

    registry = SchemaRegistryClient({"url": args.schema_registry_url})
    deserialize = AvroDeserializer(registry, open(args.reader_schema).read())
    consumer = Consumer({"bootstrap.servers": args.bootstrap_server, "group.id": "payments-reader",
                         "enable.auto.commit": False})
    metadata = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC]
    partitions = [TopicPartition(TOPIC, p) for p in metadata.partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in partitions}
    consumer.assign([TopicPartition(TOPIC, p.partition, 0) for p in partitions])
    remaining = {p: end for p, end in ends.items() if end > 0}
    while remaining:
        message = consumer.poll(5.0)
        if message is None:
            break
        if message.error():
            continue
        context = SerializationContext(TOPIC, MessageField.VALUE)
        schema_id = int.from_bytes(message.value()[1:5], "big")
        print(f"schema id {schema_id}: {json.dumps(deserialize(message.value(), context))}")
        if message.offset() + 1 >= remaining.get(message.partition(), 0):
            remaining.pop(message.partition(), None)
    consumer.close()


if __name__ == "__main__":
    main()
