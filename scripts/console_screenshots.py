"""Remake the console's screenshots in docs/images (README, "The console").

    python scripts/console_screenshots.py [--out-dir docs/images]

Starts a local three-broker cluster with its console (``minikafka cluster
start --detach`` in a temporary directory), gives it something to show, and
photographs the page in Debian's headless Chromium (``apt-get install
chromium chromium-driver``; Selenium is told where the driver is, so it never
downloads one):

- ``console.png``: a healthy cluster. Two topics receive a steady trickle of
  records; the group ``billing`` read part of ``orders`` and stopped, so its
  lag grows; the group ``audit`` keeps up with ``payments``.
- ``console-broker-down.png``: the same cluster once the page's *kill* button
  stopped broker 2: broker 2 dead, its partitions under-replicated, the
  events that followed.

The cluster is always stopped at the end. It takes about a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from selenium.webdriver.support.ui import WebDriverWait

from minikafka.chaos.layout import find_free_base_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tests.integration.console_browser.chromium import open_chromium, press  # noqa: E402  (the repo's root first)

WIDTH = 1280
MAX_HEIGHT = 1400
LAB_OVERRIDES = ("broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500",
                 "controller.quorum.election.timeout.ms=1000", "replica.lag.time.max.ms=2000",
                 "group.initial.rebalance.delay.ms=0")
TOPICS = {"orders": 3, "payments": 2}
WARM_UP_S = 15  # enough history for the throughput and lag charts to draw lines


def minikafka(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "minikafka", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"minikafka {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_cluster(data_dir: pathlib.Path):
    """``(bootstrap, console_url)`` of a detached cluster that is stopped on exit."""
    overrides = [arg for override in LAB_OVERRIDES for arg in ("--override", override)]
    minikafka("cluster", "start", "--detach", "--dir", str(data_dir), "--base-port", str(find_free_base_port(3)),
              "--console-port", str(free_port()), *overrides)
    try:
        state = json.loads((data_dir / "cluster.json").read_text())
        if not state.get("console_url"):
            raise SystemExit(f"the console did not start:\n{(data_dir / 'console.log').read_text()}")
        yield state["bootstrap"], state["console_url"]
    finally:
        minikafka("cluster", "stop", "--dir", str(data_dir))


def create_topics(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, n, 3) for name, n in TOPICS.items()]).values():
        future.result(15)


@contextlib.contextmanager
def in_background(run):
    """Run ``run(stop)`` in a thread until the block ends; then set ``stop`` and wait for it."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def trickle(bootstrap: str, per_second: int = 40):
    """Produce to every topic in the background until the block ends."""

    def run(stop: threading.Event) -> None:
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        i = 0
        while not stop.is_set():
            for topic in TOPICS:
                producer.produce(topic, value=b"record %d" % i)
            producer.poll(0)
            i += 1
            time.sleep(1 / per_second)
        producer.flush(10)

    return in_background(run)


def read_some_and_stop(bootstrap: str, topic: str, group: str, count: int) -> None:
    """A member of ``group`` reads ``count`` records of ``topic``, commits and leaves: its lag grows."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    read, deadline = 0, time.monotonic() + 20
    while read < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            read += 1
    consumer.commit(asynchronous=False)
    consumer.close()


def keep_up(bootstrap: str, topic: str, group: str):
    """A member of ``group`` that reads ``topic`` as it comes (auto-commit) until the block ends."""

    def run(stop: threading.Event) -> None:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": group,
                             "auto.offset.reset": "earliest", "auto.commit.interval.ms": 500})
        consumer.subscribe([topic])
        while not stop.is_set():
            consumer.poll(0.2)
        consumer.close()

    return in_background(run)


def wait_for(driver, script: str, timeout_s: float = 30) -> None:
    """Wait until the page script ``script`` returns true."""
    WebDriverWait(driver, timeout_s, poll_frequency=0.2).until(lambda d: d.execute_script(script))


def photograph(driver, path: pathlib.Path) -> None:
    """The whole page (up to MAX_HEIGHT pixels tall) as a PNG."""
    height = min(MAX_HEIGHT, driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(WIDTH, height + 200)  # the window's frame is not part of the page
    inner = driver.execute_script("return window.innerHeight")
    driver.set_window_size(WIDTH, height + 200 - (inner - height))
    time.sleep(0.5)
    driver.save_screenshot(str(path))
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=pathlib.Path, default=pathlib.Path("docs/images"))
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minikafka-console-") as tmp:
        with local_cluster(pathlib.Path(tmp) / "cluster") as (bootstrap, url), open_chromium((WIDTH, 900)) as driver:
            create_topics(bootstrap)
            with trickle(bootstrap), keep_up(bootstrap, "payments", "audit"):
                time.sleep(2)
                read_some_and_stop(bootstrap, "orders", "billing", count=60)
                driver.get(url)
                time.sleep(WARM_UP_S)
                wait_for(driver, "return document.querySelectorAll('#groups tr[data-group]').length >= 5 && "
                                 "!document.querySelector('#partitions tr.under-replicated')")
                photograph(driver, args.out_dir / "console.png")

                press(driver, 2, "kill")
                wait_for(driver, "const s = document.querySelector('#brokers tr[data-broker-id=\"2\"] .state');"
                                 "return s && s.textContent === 'dead' && "
                                 "document.querySelectorAll('#partitions tr.under-replicated').length === 5")
                time.sleep(3)  # the events and charts catch up
                photograph(driver, args.out_dir / "console-broker-down.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
