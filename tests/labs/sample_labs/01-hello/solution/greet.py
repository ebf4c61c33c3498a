"""Write three greetings to 'greetings'."""

import argparse

from minikafka_clients import SyncProducer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
args = parser.parse_args()
with SyncProducer({"bootstrap.servers": args.bootstrap_server}) as producer:
    for word in ("hello", "hallo", "hola"):
        producer.produce("greetings", word.encode())
    producer.flush()
