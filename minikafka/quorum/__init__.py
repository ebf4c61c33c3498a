"""The controller quorum: a KRaft-style Raft core, sans-I/O.

``RaftNode`` (raft.py) is the state machine, with its roles in
``candidate``, ``follower`` and ``leader``; ``ready`` what it hands the
runtime after each event; ``messages`` holds the RPCs (mirroring Kafka's
Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch and FetchSnapshot);
``storage`` the durable-state interface; ``simulator`` a deterministic
in-memory cluster for tests and labs. ``runtime`` (Trio) and ``wire``
(Kafka's RPCs on the wire) connect the core to a real network.
"""

from minikafka.quorum.log import Entry, Snapshot, SnapshotId
from minikafka.quorum.raft import NotLeader, RaftNode
from minikafka.quorum.ready import HardState, Ready
from minikafka.quorum.state import RaftConfig, Role
from minikafka.quorum.storage import MemoryStorage, PersistedState, RaftStorage

__all__ = [
    "Entry", "HardState", "MemoryStorage", "NotLeader", "PersistedState", "RaftConfig",
    "RaftNode", "RaftStorage", "Ready", "Role", "Snapshot", "SnapshotId",
]
