"""Produce payments in Avro with confluent-kafka's serializer and the schema registry.

    python starter/produce_payments.py --bootstrap-server 127.0.0.1:9092 \
        --schema-registry-url http://127.0.0.1:8081 --schema schemas/payment-v1.avsc --count 5

The serializer does not register anything (``auto.register.schemas`` is
off, as it should be in production: schemas are registered by a deliberate
step, where a breaking change is refused). It looks the schema up under the
subject ``payments-value`` and puts its id in front of every record. The
same program runs unchanged against Apache Kafka and Confluent's registry.
"""

import argparse
import uuid

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

TOPIC = "payments"


def payment(number: int, with_currency: bool) -> dict:
    record = {"payment_id": str(uuid.uuid4()), "customer_id": f"customer-{number % 3}",
              "amount_cents": 1000 + number}
    if with_currency:
        record["currency"] = "USD"
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--schema-registry-url", default="http://127.0.0.1:8081")
    parser.add_argument("--schema", required=True, help="the writer schema (.avsc)")
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()

    schema = open(args.schema).read()
    registry = SchemaRegistryClient({"url": args.schema_registry_url})
    # LAB 08: build the value serializer: confluent-kafka's AvroSerializer over `registry`
    # with `schema`, and auto-registration OFF (schemas are registered on purpose, by
    # `minikafka schemas register`, where an incompatible change is refused).
    serialize = None
    if serialize is None:
        raise SystemExit("LAB 08: the serializer is not written yet (see the comment above)")
    context = SerializationContext(TOPIC, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": args.bootstrap_server, "enable.idempotence": True})
    with_currency = '"currency"' in schema
    for number in range(args.count):
        value = payment(number, with_currency)
        producer.produce(TOPIC, key=value["customer_id"].encode(), value=serialize(value, context))
    if producer.flush(30) != 0:
        raise SystemExit("some payments were not delivered")
    print(f"produced {args.count} payments with {args.schema}")


if __name__ == "__main__":
    main()
