"""How long a Trio task actually ran: the "request handler time" of the request quota.

Kafka's request quota (``request_percentage``, KIP-124) charges a client for
the time a request handler thread spent on its requests: the thread's busy
time, not the wall time between request and response. A fetch that
long-polls for 500 ms costs its handler thread almost nothing, because the
thread parks the request in a purgatory and moves on.

minikafka has no request threads: each connection is one Trio task, and a
handler ``await``\\ s while it waits (a long poll, acks=all, a coordinator
write). The wall time around ``await handler(...)`` would charge the waits.
So we count what Kafka counts: the time the connection task was *running*,
summed over its steps (a Trio task runs in steps, from one checkpoint to the
next). ``TaskTimes`` is a Trio instrument: ``before_task_step`` and
``after_task_step`` are called around every step of every task, and for the
few tasks being measured they add the step's length to the task's total.

Theory of operation::

    start(task)      total = 0, step began "now" (we are inside its step)
    ... steps ...    after_task_step: total += now - step began
                     before_task_step: step began = now
    stop(task)       total += now - step began; forget the task; return total

Only one task runs at a time in a Trio run, so one "step began" timestamp
serves every measured task. Work done for a request by other tasks (the
group coordinator runtime, a replica fetcher) is not charged to it: Kafka
does not charge its coordinator or replica threads either.

The instrument is installed once per Trio run (a ``RunVar``), the first time
a broker has a request quota to enforce; until then nothing is measured and
nothing is paid.
"""

from __future__ import annotations

import time

import trio

_perf_ns = time.perf_counter_ns


class TaskTimes(trio.abc.Instrument):
    """Running time (ns) of the tasks being measured. One per Trio run; sans locking.

    Invariant: a task is in ``_totals`` only between ``start`` and ``stop``.
    """

    def __init__(self) -> None:
        self._totals: dict[trio.lowlevel.Task, int] = {}
        self._step_began = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task in self._totals:
            self._step_began = _perf_ns()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        totals = self._totals
        if task in totals:
            totals[task] += _perf_ns() - self._step_began

    def start(self) -> None:
        """Start measuring the current task, from now (called inside its step)."""
        self._totals[trio.lowlevel.current_task()] = 0
        self._step_began = _perf_ns()

    def stop(self) -> int:
        """Stop measuring the current task; return its running time since ``start``, in ns."""
        total = self._totals.pop(trio.lowlevel.current_task(), 0)
        return total + _perf_ns() - self._step_began


_TASK_TIMES: trio.lowlevel.RunVar = trio.lowlevel.RunVar("minikafka_task_times")


def task_times() -> TaskTimes:
    """This Trio run's ``TaskTimes``, installed as an instrument on first use."""
    try:
        return _TASK_TIMES.get()
    except LookupError:
        instrument = TaskTimes()
        trio.lowlevel.add_instrument(instrument)
        _TASK_TIMES.set(instrument)
        return instrument
