"""The console in a real browser: what a user sees and what its buttons do.

A headless Chromium opens the console of a local three-broker cluster
(``conftest.py``) and reads the page the way a user reads it, by its tables:

- the broker table lists the three brokers, alive;
- pressing *kill* on broker 2 shows broker 2 dead and, within seconds, every
  partition it replicates under-replicated; *restart* brings it back and the
  partitions heal (no under-replicated row left); the event feed tells both
  stories (broker down, ISR shrinks; broker up, ISR expansions);
- a consumer group that consumed everything and stopped shows no lag; producing
  more makes the page's lag for that group grow by exactly what was produced
  (Kafka's lag: log-end offset minus committed offset).

Every wait is bounded. The bounds leave room for the lab timeouts: a killed
broker leaves the ISRs once the controller fences it, after
``broker.session.timeout.ms`` (3 s here).
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.console_browser.chromium import (
    broker_states, events, group_lags, partition_health, press, under_replicated_partitions, wait_for)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

PAGE_S = 10  # the page polls once a second; ten polls is plenty for anything already true
KILL_S = 20  # fencing (3 s), a new controller if broker 2 was it, an ISR shrink per partition
RESTART_S = 30  # the restart answers once broker 2 rejoined; then it catches up


def create_topic(cluster, partitions: int) -> str:
    """A new topic whose partitions all have a replica on each of the three brokers."""
    name = f"console-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 3)]).values():
        future.result(10)
    return name


def produce(cluster, topic: str, counts: dict[int, int]) -> None:
    """``counts[p]`` records into partition ``p``, all acknowledged."""
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for partition, count in counts.items():
        for i in range(count):
            producer.produce(topic, value=b"record %d" % i, partition=partition)
    assert producer.flush(10) == 0


def consume_all_and_stop(cluster, topic: str, group: str, count: int) -> None:
    """A member of ``group`` reads ``count`` records, commits them and leaves."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        read = 0
        deadline = time.monotonic() + 20
        while read < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                read += 1
        assert read == count
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def event_types(driver) -> set[str]:
    return {kind for kind, _ in events(driver)}


def test_the_page_lists_the_three_brokers_alive(page):
    states = wait_for(page, broker_states, lambda s: len(s) == 3, PAGE_S, "three brokers")
    assert states == {1: "alive", 2: "alive", 3: "alive"}


def test_kill_shows_broker_2_dead_and_its_partitions_under_replicated_restart_heals(page, console_cluster):
    topic = create_topic(console_cluster, partitions=3)
    wait_for(page, lambda d: partition_health(d, topic), lambda h: len(h) == 3 and not any(h.values()),
             PAGE_S, f"{topic}'s three partitions, fully replicated")

    press(page, 2, "kill")
    wait_for(page, broker_states, lambda s: s.get(2) == "dead", PAGE_S, "broker 2 dead")
    wait_for(page, lambda d: partition_health(d, topic), lambda h: len(h) == 3 and all(h.values()),
             KILL_S, f"every partition of {topic} under-replicated")
    assert broker_states(page) == {1: "alive", 2: "dead", 3: "alive"}
    wait_for(page, event_types, lambda seen: {"broker_down", "isr_shrink"} <= seen, PAGE_S,
             "the events broker_down and isr_shrink")

    before_restart = set(events(page))
    press(page, 2, "restart")
    wait_for(page, broker_states, lambda s: s == {1: "alive", 2: "alive", 3: "alive"}, RESTART_S,
             "broker 2 alive again")
    wait_for(page, under_replicated_partitions, lambda rows: not rows, RESTART_S, "no under-replicated partition")
    assert partition_health(page, topic) == {0: False, 1: False, 2: False}
    wait_for(page, lambda d: {kind for kind, text in set(events(d)) - before_restart},
             lambda new: {"broker_up", "isr_expand"} <= new, PAGE_S, "new events broker_up and isr_expand")


def test_the_lag_of_a_stopped_group_grows_as_more_is_produced(page, console_cluster):
    topic = create_topic(console_cluster, partitions=2)
    group = f"readers-{uuid.uuid4().hex[:8]}"
    produce(console_cluster, topic, {0: 10, 1: 10})
    consume_all_and_stop(console_cluster, topic, group, count=20)
    wait_for(page, lambda d: group_lags(d, group), lambda lags: lags == {(topic, 0): 0, (topic, 1): 0},
             PAGE_S, f"group {group} with no lag")

    produce(console_cluster, topic, {0: 7, 1: 5})
    wait_for(page, lambda d: group_lags(d, group), lambda lags: lags == {(topic, 0): 7, (topic, 1): 5},
             PAGE_S, f"group {group} 7 and 5 records behind")
