"""The teaching labs: find them, start them, check them, solve them.

A lab's ``lab.py`` imports what it needs from here::

    from minikafka.labs import Lab, LabContext, Report

- ``catalog``: ``Lab`` (what a lab declares) and where the labs are;
- ``context``: ``LabContext``, the cluster, directories and clients a lab uses;
- ``faults``: ``ClusterFaults``, the local cluster's fault toolkit (``ctx.cluster``);
- ``report``: ``Report``, what a check found (PASS / MISSING);
- ``runner``: ``start``, ``check``, ``solve``, ``reset`` (``minikafka lab``).
"""

from minikafka.labs.catalog import Lab, LabError
from minikafka.labs.context import LabContext
from minikafka.labs.faults import ClusterFaults
from minikafka.labs.report import Report

__all__ = ["ClusterFaults", "Lab", "LabContext", "LabError", "Report"]
