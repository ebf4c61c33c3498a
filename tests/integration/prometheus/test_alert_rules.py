"""The shipped alert rules and sample configuration, checked by Prometheus' own ``promtool``."""

from __future__ import annotations

import subprocess

from .promtool import ALERTS, ALERTS_TEST, SAMPLE_CONFIG, binary


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=60)


def test_the_alert_rules_are_valid():
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


def test_the_sample_prometheus_config_is_valid_and_loads_the_rules():
    result = promtool("check", "config", str(SAMPLE_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_every_alert_fires_when_it_should_and_not_before():
    result = promtool("test", "rules", str(ALERTS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_cover_every_alert():
    alerts = {line.split(":", 1)[1].strip() for line in ALERTS.read_text().splitlines()
              if line.strip().startswith("- alert:")}
    tested = {line.split(":", 1)[1].strip() for line in ALERTS_TEST.read_text().splitlines()
              if line.strip().startswith("alertname:")}
    assert alerts == tested


def test_the_sample_config_scrapes_the_default_local_cluster():
    from pathlib import Path

    from minikafka.chaos.layout import ClusterLayout

    layout = ClusterLayout(Path("."), 3, 9092)  # `minikafka cluster start`'s defaults
    text = SAMPLE_CONFIG.read_text()
    for node_id in layout.node_ids:
        assert f'- targets: ["127.0.0.1:{layout.broker(node_id).metrics_port}"]\n' \
               f'        labels: {{broker: "{node_id}"}}' in text
