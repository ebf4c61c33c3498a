"""A headless Chromium for the console's browser tests, and how to read its page.

The browser is Debian's (``apt-get install chromium chromium-driver``): the
driver's path is given to Selenium explicitly, so Selenium never runs its
Selenium Manager and never downloads a browser or a driver.

The page redraws its tables once a second by replacing their rows, so a row
found now may be gone a moment later. The readers below take one snapshot of
a table in the browser (a single script, so the rows cannot change halfway),
and ``wait_for`` polls such snapshots until a condition holds or its bound
runs out. The element ids are the ones the console's page promises:
``#brokers`` rows ``[data-broker-id]`` with a ``.state`` cell and buttons
``button[data-action]``; ``#partitions`` rows ``[data-topic][data-partition]``,
class ``under-replicated`` when so; ``#groups`` rows
``[data-group][data-topic][data-partition]`` with a ``.lag`` cell; ``#events``
items ``li[data-type]`` (the event's type, e.g. ``broker_down``, ``isr_shrink``).
"""

from __future__ import annotations

import contextlib
import os

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("MINIKAFKA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MINIKAFKA_CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW = (1280, 900)
POLL_S = 0.2


@contextlib.contextmanager
def open_chromium(window=WINDOW):
    """A headless Chromium driven through chromedriver; quits on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--hide-scrollbars", f"--window-size={window[0]},{window[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


_BROKERS = """
return Array.from(document.querySelectorAll('#brokers tr[data-broker-id]')).map(row => ({
    id: Number(row.dataset.brokerId), state: row.querySelector('.state').textContent.trim()}));
"""
_PARTITIONS = """
return Array.from(document.querySelectorAll('#partitions tr[data-topic][data-partition]')).map(row => ({
    topic: row.dataset.topic, partition: Number(row.dataset.partition),
    under_replicated: row.classList.contains('under-replicated')}));
"""
_LAGS = """
return Array.from(document.querySelectorAll('#groups tr[data-group][data-topic][data-partition]')).map(row => ({
    group: row.dataset.group, topic: row.dataset.topic, partition: Number(row.dataset.partition),
    lag: row.querySelector('.lag').textContent.trim()}));
"""

_EVENTS = """
return Array.from(document.querySelectorAll('#events li')).map(item => [item.dataset.type, item.textContent]);
"""


def broker_states(driver) -> dict[int, str]:
    """``{broker id: state}`` as the page's broker table shows it."""
    return {row["id"]: row["state"] for row in driver.execute_script(_BROKERS)}


def partition_health(driver, topic: str) -> dict[int, bool]:
    """``{partition: under-replicated?}`` for ``topic``'s rows of the partition table."""
    return {row["partition"]: row["under_replicated"] for row in driver.execute_script(_PARTITIONS)
            if row["topic"] == topic}


def under_replicated_partitions(driver) -> list[tuple[str, int]]:
    """Every ``(topic, partition)`` the partition table marks under-replicated."""
    return [(row["topic"], row["partition"]) for row in driver.execute_script(_PARTITIONS)
            if row["under_replicated"]]


def group_lags(driver, group: str) -> dict[tuple[str, int], int | None]:
    """``{(topic, partition): lag}`` for ``group``'s rows (None where the page shows no number)."""
    return {(row["topic"], row["partition"]): int(row["lag"]) if row["lag"].isdigit() else None
            for row in driver.execute_script(_LAGS) if row["group"] == group}


def events(driver) -> list[tuple[str, str]]:
    """The event feed's items, newest first, as ``(type, text)``."""
    return [tuple(item) for item in driver.execute_script(_EVENTS)]


def wait_for(driver, read, condition, timeout_s: float, what: str):
    """Poll ``read(driver)`` until ``condition(value)`` holds; return that value.

    Raises:
        AssertionError: naming ``what`` and the last value read, after ``timeout_s``.
    """
    seen = []

    def check(d):
        seen[:] = [read(d)]
        return condition(seen[0])

    try:
        WebDriverWait(driver, timeout_s, poll_frequency=POLL_S).until(check)
        return seen[0]
    except TimeoutException:
        raise AssertionError(f"after {timeout_s} s the page still does not show {what}; "
                             f"it shows {seen[0] if seen else 'nothing'}") from None


def press(driver, broker_id: int, action: str, timeout_s: float = 5.0) -> None:
    """Click broker ``broker_id``'s ``action`` button (found again if a redraw replaced it)."""
    selector = f'#brokers tr[data-broker-id="{broker_id}"] button[data-action="{action}"]'

    def click(d):
        d.find_element(By.CSS_SELECTOR, selector).click()
        return True

    WebDriverWait(driver, timeout_s, poll_frequency=POLL_S,
                  ignored_exceptions=(StaleElementReferenceException,)).until(click)
