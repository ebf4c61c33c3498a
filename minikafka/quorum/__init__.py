"""The controller quorum: a KRaft-style Raft core, sans-I/O.

``RaftNode`` (raft.py) is the state machine; ``messages`` holds the RPCs
(mirroring Kafka's Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch and
FetchSnapshot); ``storage`` the durable-state interface; ``simulator`` a
deterministic in-memory cluster for tests and labs.
"""

from minikafka.quorum.log import Entry, Snapshot, SnapshotId
from minikafka.quorum.raft import NotLeader, RaftNode, Ready
from minikafka.quorum.state import RaftConfig, Role
from minikafka.quorum.storage import HardState, MemoryStorage, PersistedState, RaftStorage

__all__ = [
    "Entry", "HardState", "MemoryStorage", "NotLeader", "PersistedState", "RaftConfig",
    "RaftNode", "RaftStorage", "Ready", "Role", "Snapshot", "SnapshotId",
]
