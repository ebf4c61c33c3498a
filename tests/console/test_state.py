"""The console's sans-I/O model: hand-made observations in, state JSON and events out."""

from minikafka.console.state import (
    BrokerFacts, EventLog, GroupFacts, History, MemberFacts, Observation, PartitionFacts, RateTracker,
    broker_state, build_state, diff, observe_rates, parse_topic_counters)


def brokers(**states):
    """``brokers(b1="alive", b2="dead")`` -> BrokerFacts answering/registered as the state says."""
    facts = {}
    for name, state in states.items():
        node_id = int(name[1:])
        facts[node_id] = BrokerFacts(node_id, "127.0.0.1", 9091 + node_id,
                                     answers=state in ("alive", "fenced"), registered=state == "alive",
                                     process="paused" if state == "paused" else None)
    return facts


def observation(now_ms=1_000, broker_states=None, controller_id=1, topics=None, groups=None, end_offsets=None,
                counters=None):
    return Observation(now_ms=now_ms, brokers=brokers(**(broker_states or {"b1": "alive", "b2": "alive",
                                                                          "b3": "alive"})),
                       controller_id=controller_id, topics=topics or {}, groups=groups or [],
                       end_offsets=end_offsets or {}, counters=counters or {})


def orders(leader=1, isr=(1, 2, 3)):
    return {"orders": [PartitionFacts(0, leader, [1, 2, 3], list(isr))]}


def test_broker_state_from_answers_registration_and_process():
    assert broker_state(BrokerFacts(1, "h", 1, answers=True, registered=True)) == "alive"
    assert broker_state(BrokerFacts(1, "h", 1, answers=True, registered=False)) == "fenced"
    assert broker_state(BrokerFacts(1, "h", 1, answers=False, registered=True)) == "dead"  # not fenced yet
    assert broker_state(BrokerFacts(1, "h", 1, answers=False, registered=True, process="paused")) == "paused"
    assert broker_state(BrokerFacts(1, "h", 1, answers=True, registered=True, process="dead")) == "dead"


def test_state_lists_brokers_partitions_and_flags_under_replicated_and_offline():
    topics = {"orders": [PartitionFacts(1, 2, [2, 3], [2]), PartitionFacts(0, 1, [1, 2], [1, 2]),
                         PartitionFacts(2, -1, [3], [])]}
    obs = observation(broker_states={"b1": "alive", "b2": "fenced", "b3": "dead"}, topics=topics)
    obs.brokers[1].metrics_port = 9492
    state = build_state(obs)
    assert [(b["id"], b["state"], b["alive"], b["fenced"], b["controller"]) for b in state["brokers"]] == [
        (1, "alive", True, False, True), (2, "fenced", False, True, False), (3, "dead", False, False, False)]
    assert state["brokers"][0]["metrics_url"] == "http://127.0.0.1:9492/metrics"
    assert state["brokers"][1]["metrics_url"] is None
    [topic] = state["topics"]
    assert [(p["partition"], p["under_replicated"], p["offline"]) for p in topic["partitions"]] == [
        (0, False, False), (1, True, False), (2, False, True)]
    assert state["controls"] is False and state["links"] is False


def test_group_lag_is_end_minus_committed_and_unknown_without_a_commit():
    member = MemberFacts("m-1", "app", "/127.0.0.1", {"orders": [0, 1]})
    group = GroupFacts("billing", "Stable", [member], committed={("orders", 0): 40, ("orders", 2): 7})
    state = build_state(observation(groups=[group], end_offsets={("orders", 0): 100, ("orders", 1): 5,
                                                                 ("orders", 2): 7}))
    [g] = state["groups"]
    assert g["members"] == [{"member_id": "m-1", "client_id": "app", "host": "/127.0.0.1",
                             "assignment": {"orders": [0, 1]}}]
    assert [(r["partition"], r["committed"], r["end"], r["lag"], r["member_id"]) for r in g["lag"]] == [
        (0, 40, 100, 60, "m-1"), (1, None, 5, None, "m-1"), (2, 7, 7, 0, None)]


def test_first_state_has_no_events():
    assert diff(None, build_state(observation())) == []


def test_broker_down_and_up_and_controller_move():
    before = build_state(observation())
    down = build_state(observation(now_ms=2_000, broker_states={"b1": "alive", "b2": "dead", "b3": "paused"},
                                   controller_id=3))
    events = diff(before, down)
    assert [(e["type"], e.get("broker")) for e in events] == [
        ("broker_down", 2), ("broker_paused", 3), ("controller_change", 3)]
    assert events[0]["message"] == "broker 2: alive -> dead" and events[0]["time_ms"] == 2_000
    up = build_state(observation(now_ms=3_000, controller_id=3))
    assert [(e["type"], e["broker"]) for e in diff(down, up)] == [("broker_up", 2), ("broker_up", 3)]


def test_leader_election_isr_shrink_and_expand():
    stable = build_state(observation(topics=orders()))
    failed_over = build_state(observation(topics=orders(leader=2, isr=(2, 3))))
    events = diff(stable, failed_over)
    assert [e["type"] for e in events] == ["leader_election", "isr_shrink"]
    assert events[0]["message"] == "orders-0: leader 1 -> 2"
    assert events[1]["message"] == "orders-0: ISR shrank [1,2,3] -> [2,3]"
    assert (events[1]["topic"], events[1]["partition"]) == ("orders", 0)
    back = build_state(observation(topics=orders(leader=2, isr=(2, 3, 1))))
    assert [e["type"] for e in diff(failed_over, back)] == ["isr_expand"]
    offline = build_state(observation(topics=orders(leader=-1, isr=())))
    assert [e["type"] for e in diff(failed_over, offline)] == ["partition_offline", "isr_shrink"]


def test_topics_created_and_deleted():
    empty = build_state(observation())
    created = build_state(observation(topics=orders()))
    assert [e["type"] for e in diff(empty, created)] == ["topic_created"]
    assert [e["type"] for e in diff(created, empty)] == ["topic_deleted"]


def test_rebalance_when_the_assignment_changes():
    one = GroupFacts("g", "Stable", [MemberFacts("a", "c", "h", {"orders": [0, 1]})])
    two = GroupFacts("g", "Stable", [MemberFacts("a", "c", "h", {"orders": [0]}),
                                     MemberFacts("b", "c", "h", {"orders": [1]})])
    rebalancing = GroupFacts("g", "PreparingRebalance", one.members)
    s1, s2 = build_state(observation(groups=[one])), build_state(observation(groups=[two]))
    events = diff(s1, s2)
    assert [e["type"] for e in events] == ["rebalance"]
    assert events[0]["message"] == "group g rebalanced: 2 member(s) (1 joined, 0 left)"
    assert [e["type"] for e in diff(s1, build_state(observation(groups=[rebalancing])))] == ["group_state"]
    assert diff(s1, build_state(observation(groups=[one]))) == []


def test_rates_over_the_window_and_a_counter_reset():
    tracker = RateTracker(window_ms=5_000)
    assert tracker.rate("x") is None
    tracker.observe("x", 0, 100)
    assert tracker.rate("x") is None  # one sample: no rate yet
    tracker.observe("x", 1_000, 150)
    tracker.observe("x", 2_000, 250)
    assert tracker.rate("x") == 75.0  # 150 in 2 s
    tracker.observe("x", 3_000, 30)  # a restarted broker counts from 0: +30
    assert tracker.rate("x") == (150 + 30) / 3
    for t in range(4_000, 20_001, 1_000):
        tracker.observe("x", t, 30)
    assert tracker.rate("x") == 0.0  # the old increase has left the window


def test_topic_rates_sum_partitions_and_brokers():
    tracker = RateTracker()
    for now_ms, p0, p1, b1, b2 in ((0, 0, 0, 0, 0), (2_000, 10, 30, 1_000, 3_000)):
        obs = observation(now_ms=now_ms, topics=orders(), end_offsets={("orders", 0): p0, ("orders", 1): p1},
                          counters={(1, "bytes_in", "orders"): b1, (2, "bytes_in", "orders"): b2})
        observe_rates(tracker, obs)
    [topic] = build_state(obs, tracker)["topics"]
    assert topic["messages_in_rate"] == 20.0
    assert topic["bytes_in_rate"] == 2_000.0
    assert topic["bytes_out_rate"] is None  # never scraped


def test_parse_topic_counters_reads_the_per_topic_samples():
    text = "\n".join([
        "# HELP kafka_server_brokertopicmetrics_bytesin_total Bytes in",
        "# TYPE kafka_server_brokertopicmetrics_bytesin_total counter",
        "kafka_server_brokertopicmetrics_bytesin_total 500.0",
        'kafka_server_brokertopicmetrics_bytesin_total{topic="orders"} 300.0',
        'kafka_server_brokertopicmetrics_bytesout_total{topic="orders"} 1.5e3',
        'kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 3.0',
    ])
    assert parse_topic_counters(text) == {("bytes_in", "orders"): 300.0, ("bytes_out", "orders"): 1500.0}


def test_history_keeps_the_window():
    history = History(window_ms=10_000)
    group = GroupFacts("g", "Stable", [], committed={("orders", 0): 1})
    for now_ms in (0, 5_000, 12_000):
        history.record(build_state(observation(now_ms=now_ms, topics=orders(), groups=[group],
                                               end_offsets={("orders", 0): 4})))
    history_json = history.to_json()
    assert [p["t"] for p in history_json["throughput"][0]["points"]] == [5_000, 12_000]
    assert history_json["lag"] == [{"group_id": "g", "topic": "orders", "partition": 0,
                                    "points": [{"t": 5_000, "lag": 3}, {"t": 12_000, "lag": 3}]}]


def test_event_log_numbers_events_and_keeps_the_newest():
    log = EventLog(capacity=2)
    log.extend([{"type": "a"}, {"type": "b"}, {"type": "c"}])
    assert [e["seq"] for e in log.after(0)] == [2, 3]
    assert log.after(3) == [] and log.last_seq == 3
