"""The transaction coordinator's broker settings (Kafka's names and defaults).

``TransactionConfig.from_broker_config`` reads them from a ``BrokerConfig``;
a key the config lacks keeps Kafka's default. Tests build one directly with
faster values.

- ``transaction.max.timeout.ms`` (15 minutes): the longest
  ``transaction.timeout.ms`` a producer may ask for; InitProducerId with a
  longer one gets INVALID_TRANSACTION_TIMEOUT.
- ``transactional.id.expiration.ms`` (7 days): an id with no open
  transaction and no change for that long is forgotten (a tombstone).
- ``transaction.abort.timed.out.transaction.cleanup.interval.ms`` (10 s):
  how often the coordinator looks for transactions past their timeout.
- ``transaction.remove.expired.transaction.cleanup.interval.ms`` (1 hour):
  how often it looks for expired transactional ids.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TransactionConfig:
    """The settings the transaction coordinator uses (Kafka's defaults)."""

    transaction_max_timeout_ms: int = 15 * 60 * 1000
    transactional_id_expiration_ms: int = 7 * 24 * 60 * 60 * 1000
    abort_timed_out_transactions_interval_ms: int = 10 * 1000
    remove_expired_transactional_ids_interval_ms: int = 60 * 60 * 1000

    _KEYS = {
        "transaction.max.timeout.ms": "transaction_max_timeout_ms",
        "transactional.id.expiration.ms": "transactional_id_expiration_ms",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms":
            "abort_timed_out_transactions_interval_ms",
        "transaction.remove.expired.transaction.cleanup.interval.ms":
            "remove_expired_transactional_ids_interval_ms",
    }

    @classmethod
    def from_broker_config(cls, config) -> "TransactionConfig":
        """Read the settings from a ``BrokerConfig`` (keys it lacks keep Kafka's defaults)."""
        values = {}
        for key, attribute in cls._KEYS.items():
            value = _lookup(config, key)
            if value is not None:
                values[attribute] = int(value)
        return cls(**values)


def _lookup(config, key: str):
    try:
        return config[key]
    except (KeyError, LookupError):
        return None
