"""Partition storage: how records land on disk and every offset of a partition.

- ``unified_log``: ``UnifiedLog``, one partition's storage engine (log end
  and log start offsets, high watermark, producer state, leader-epoch cache;
  append as leader or follower, truncate, read);
- ``log``: ``Log``, the segments under it (roll, retention, flush, recovery);
- ``manager``: ``LogManager``, the log directories and their checkpoints;
- ``config``: ``LogConfig``, a topic's storage settings;
- ``producer_state``, ``epoch_cache``, ``checkpoints``: the state files;
- ``txn_index``: the aborted-transaction index (``.txnindex``);
- ``cleaner``, ``segment_swap``, ``record_filter``: log compaction.
"""

from minikafka.storage.config import LogConfig
from minikafka.storage.log import AppendInfo, Log
from minikafka.storage.manager import LogManager
from minikafka.storage.producer_state import ActiveProducer, VerificationGuard
from minikafka.storage.txn_index import AbortedTxn
from minikafka.storage.unified_log import AppendOrigin, AppendResult, FetchIsolation, UnifiedLog

__all__ = ["AbortedTxn", "ActiveProducer", "AppendInfo", "AppendOrigin", "AppendResult", "FetchIsolation",
           "Log", "LogConfig", "LogManager", "UnifiedLog", "VerificationGuard"]
