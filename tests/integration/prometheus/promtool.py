"""Where the tests find Debian's Prometheus binaries, and the shipped files they check."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ALERTS = REPO / "monitoring" / "minikafka-alerts.yml"
SAMPLE_CONFIG = REPO / "monitoring" / "prometheus.yml"
ALERTS_TEST = Path(__file__).with_name("alerts_test.yml")


def binary(name: str) -> str:
    """The path of ``prometheus`` or ``promtool`` (Debian package ``prometheus``)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    assert path, f"{name} not found: install Debian's 'prometheus' package"
    return path
