"""Client quotas, connection quotas and replication throttles (sans-I/O).

Modules, from the bottom up:

- ``sensor``: windowed statistics (Kafka's Rate, SimpleRate, Avg, TokenBucket)
  and the throttle-time formula;
- ``entity``: quota entities and the ``QuotaTable`` that resolves a client's
  quota in Kafka's precedence order;
- ``client``: produce/fetch bandwidth and request-time quotas;
- ``controller_mutation``: the KIP-599 partition-mutation token bucket;
- ``replication``: leader/follower replication throttles;
- ``connection``: connection counts and creation rates;
- ``broker_quotas``: one broker's managers over one table.

Everything here takes ``now_ms`` from the caller and does no I/O.
"""
