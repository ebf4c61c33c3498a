"""DescribeLogDirs (API 35, v1-4): which log directory holds each partition, and its size.

The answer lists every log directory of this broker (``log.dirs``), and in
each the requested partitions it holds with their size on disk. ``topics``
null asks for every partition. ``offset_lag`` is how far a *future* replica
(one being moved between directories) trails the current one; minikafka
never moves replicas, so it is 0 and ``is_future_key`` is false. v4
(KIP-827) adds each directory's total and usable bytes (from the file
system). Partitions that are not here are simply left out, as in Kafka.
"""

from __future__ import annotations

import os
import shutil

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 35


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    wanted = _wanted(services, request.topics)
    results = [_describe_dir(services, log_dir, wanted) for log_dir in services.config.log_dirs]
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "results": results}


def _wanted(services: BrokerServices, topics) -> list[tuple[str, int]]:
    """The ``(topic, partition)`` pairs asked for that exist, in a stable order."""
    if topics is None:
        return services.partitions.hosted_partitions()
    pairs = {(t.topic, index) for t in topics for index in t.partitions}
    return sorted(pairs.intersection(services.partitions.hosted_partitions()))


def _describe_dir(services: BrokerServices, log_dir: str, wanted) -> dict:
    by_topic: dict[str, list] = {}
    for topic, index in wanted:
        if os.path.abspath(services.partitions.log_dir_of(topic, index)) != os.path.abspath(log_dir):
            continue
        size = services.partitions.partition(topic, index).log.size_in_bytes
        by_topic.setdefault(topic, []).append(
            {"partition_index": index, "partition_size": size, "offset_lag": 0, "is_future_key": False})
    try:
        usage = shutil.disk_usage(log_dir)
        total_bytes, usable_bytes, error = usage.total, usage.free, ErrorCode.NONE
    except OSError:
        total_bytes, usable_bytes, error = -1, -1, ErrorCode.KAFKA_STORAGE_ERROR
    return {
        "error_code": error,
        "log_dir": os.path.abspath(log_dir),
        "topics": [{"name": name, "partitions": parts} for name, parts in by_topic.items()],
        "total_bytes": total_bytes,
        "usable_bytes": usable_bytes,
    }
