"""The port layout and server.properties of a local cluster."""

from minikafka.chaos.layout import ClusterLayout, busy_ports, find_free_base_port


def test_default_ports_follow_kafka_quickstart_and_blocks_of_100(tmp_path):
    layout = ClusterLayout(tmp_path, brokers=3, base_port=9092)
    assert layout.bootstrap == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    broker = layout.broker(2)
    assert (broker.client_port, broker.controller_port, broker.internal_port,
            broker.internal_controller_port) == (9093, 9193, 9293, 9393)
    assert broker.log_dir == tmp_path / "broker-2"


def test_properties_are_kraft_combined_mode_with_the_same_voters_everywhere(tmp_path):
    layout = ClusterLayout(tmp_path, brokers=3, base_port=9092)
    props = [layout.properties(n) for n in (1, 2, 3)]
    assert {p["controller.quorum.voters"] for p in props} == {
        "1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194"}
    first = props[0]
    assert first["process.roles"] == "broker,controller"
    assert first["node.id"] == "1"
    assert first["listeners"] == "PLAINTEXT://127.0.0.1:9292,CONTROLLER://127.0.0.1:9392"
    assert first["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert first["controller.listener.names"] == "CONTROLLER"
    assert first["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert first["log.dirs"] == str(tmp_path / "broker-1")


def test_overrides_win_and_the_text_parses_back(tmp_path):
    from minikafka.config import BrokerConfig

    layout = ClusterLayout(tmp_path, 3, 9092, (("min.insync.replicas", "2"), ("node.id", "1")))
    path = tmp_path / "b.properties"
    path.write_text(layout.properties_text(3))
    config = BrokerConfig.load(str(path), {})
    assert config["min.insync.replicas"] == 2
    assert config["node.id"] == 1  # the override, even on broker 3 (the user asked for it)


def test_bad_sizes_are_refused(tmp_path):
    for brokers, base in ((0, 9092), (3, 65500)):
        try:
            ClusterLayout(tmp_path, brokers, base)
        except ValueError as exc:
            assert "--" in str(exc)
        else:
            raise AssertionError("accepted")
    try:
        ClusterLayout(tmp_path, 3, 9092).broker(4)
    except ValueError as exc:
        assert "brokers 1..3" in str(exc)


def test_find_free_base_port_returns_four_free_blocks(tmp_path):
    base = find_free_base_port(3)
    assert busy_ports(ClusterLayout(tmp_path, 3, base).all_ports()) == []


def test_each_broker_has_a_metrics_port_in_the_fifth_block(tmp_path):
    for proxies in (True, False):
        layout = ClusterLayout(tmp_path, brokers=3, base_port=9092, proxies=proxies)
        assert [layout.broker(n).metrics_port for n in (1, 2, 3)] == [9492, 9493, 9494]
        assert layout.properties(2)["metrics.http.listener"] == "127.0.0.1:9493"
        assert 9494 in layout.all_ports()
