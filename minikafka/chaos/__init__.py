"""Failure injection: start a local cluster of real broker processes and break it.

- ``layout``: which ports and directories each broker gets, its ``server.properties``;
- ``proxy``: front proxies that cut or slow chosen links (``LinkRules``);
- ``socket_owner``: which broker process opened a loopback connection (``/proc``);
- ``supervisor``: starts the brokers and proxies, applies faults, state file;
- ``control``: the supervisor's JSON-line control channel (used by the CLI);
- ``health``: under-replicated and offline partitions from Metadata;
- ``harness``: ``Cluster``, the blocking test/lab API over the supervisor.

``minikafka cluster ...`` (``minikafka.cli.cluster``) is the command-line face.
"""

from minikafka.chaos.harness import Cluster

__all__ = ["Cluster"]
