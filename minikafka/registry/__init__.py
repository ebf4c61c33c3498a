"""The schema registry: Confluent Schema Registry's REST API, its schemas kept in Kafka."""
