"""minikafka: an educational, Kafka-compatible log broker."""

__version__ = "0.1.0"
