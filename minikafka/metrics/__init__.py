"""The broker's metrics: Kafka's names, counters, gauges, meters and histograms (sans-I/O)."""
