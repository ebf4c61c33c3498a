"""ApiVersions advertises the transaction APIs, with Kafka 4.0's versions, once their handlers exist."""

from __future__ import annotations

from types import SimpleNamespace

from minikafka.handlers import api_versions, load_handlers

TRANSACTION_APIS = {  # api_key: (min_version, max_version)
    24: (0, 5),  # AddPartitionsToTxn
    25: (0, 4),  # AddOffsetsToTxn
    26: (0, 5),  # EndTxn
    27: (1, 1),  # WriteTxnMarkers (KIP-896 removed v0)
    28: (0, 4),  # TxnOffsetCommit
    61: (0, 0),  # DescribeProducers
    65: (0, 0),  # DescribeTransactions
    66: (0, 1),  # ListTransactions
}


def test_every_transaction_api_is_advertised():
    services = SimpleNamespace(api_keys=frozenset(load_handlers()))
    advertised = {entry["api_key"]: (entry["min_version"], entry["max_version"])
                  for entry in api_versions.supported_api_keys(services)}
    assert {key: advertised.get(key) for key in TRANSACTION_APIS} == TRANSACTION_APIS


def test_an_api_without_a_handler_is_not_advertised():
    services = SimpleNamespace(api_keys=frozenset({18, 0}))
    assert [entry["api_key"] for entry in api_versions.supported_api_keys(services)] == [0, 18]
