"""The live console: polls the cluster once a second and keeps what the page reads.

``LiveConsole.run()`` is the loop: poll (``collect.Collector``), turn the
observation into the state JSON (``state.build_state``), diff it against the
previous one for the event feed (``state.diff``), and append it to the
charts' history (``state.History``). The web app (``console.app``) only reads
``LiveConsole.state``, ``history`` and ``events``, and forwards the buttons
to the toolkit; an action wakes the loop so the page shows its effect at once.
"""

from __future__ import annotations

import trio

from minikafka.console import state as model

POLL_INTERVAL_S = 1.0
MAX_EVENT_WAIT_S = 25.0


class LiveConsole:
    """The console's live model. Owned by one Trio run.

    Args:
        collector: a ``collect.Collector``.
        toolkit: the local cluster's ``toolkit.ClusterToolkit``, or None (no buttons).
        poll_interval_s: the time between two polls' starts.
    """

    def __init__(self, collector, toolkit=None, poll_interval_s: float = POLL_INTERVAL_S):
        self.collector = collector
        self.toolkit = toolkit
        self.poll_interval_s = poll_interval_s
        self.rates = model.RateTracker()
        self.history = model.History()
        self.events = model.EventLog()
        self.state: dict = {"time_ms": 0, "controller_id": -1, "brokers": [], "topics": [], "groups": [],
                            "controls": toolkit is not None, "links": False, "faults": {}}
        self.polls = 0  # how many polls have completed
        self._changed = trio.Event()  # set (and replaced) after every poll
        self._wake = trio.Event()  # set by an action: poll now

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            started = trio.current_time()
            await self.poll_once()
            with trio.move_on_at(started + self.poll_interval_s):
                await self._wake.wait()
            self._wake = trio.Event()

    async def poll_once(self) -> None:
        """One poll: observe, rebuild the state, record events and history."""
        observation = await self.collector.poll()
        model.observe_rates(self.rates, observation)
        new_state = model.build_state(observation, self.rates)
        self.events.extend(model.diff(self.state if self.polls else None, new_state))
        self.history.record(new_state)
        self.state = new_state
        self.polls += 1
        self._changed.set()
        self._changed = trio.Event()

    def wake(self) -> None:
        """Poll again now (after an action)."""
        self._wake.set()

    async def events_after(self, seq: int, wait_s: float = 0.0) -> list[dict]:
        """The events numbered above ``seq``; with ``wait_s``, wait that long for one (long poll)."""
        with trio.move_on_after(min(wait_s, MAX_EVENT_WAIT_S)):
            while not self.events.after(seq):
                await self._changed.wait()
        return self.events.after(seq)
