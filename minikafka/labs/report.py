"""What a lab's check found: one line per expectation, PASS or MISSING.

A lab's ``check(ctx, report)`` looks at the cluster (topics, offsets, groups,
configs), at the brokers' files on disk and at the student's output files,
and says for each thing the lab asks for whether it is there::

    report.ok("topic 'orders' has 6 partitions")
    report.missing("no record with key 'customer-7' in 'orders'",
                   hint="step 3: produce with --key-separator :")

``minikafka lab check N`` prints the lines in order::

    PASS    topic 'orders' has 6 partitions
    MISSING no record with key 'customer-7' in 'orders' (step 3: produce with --key-separator :)

and exits 1 while anything is missing, 0 once everything passes: the lab is
done when its check is green. A check that finds nothing to say counts as
missing (a check must check something).
"""

from __future__ import annotations

import dataclasses

PASS = "PASS"
MISSING = "MISSING"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of a report: its status (``PASS`` or ``MISSING``), text and hint."""

    status: str
    text: str
    hint: str | None = None

    def line(self) -> str:
        """``PASS    text`` or ``MISSING text (hint)``."""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.status:<7} {self.text}{hint}"


class Report:
    """The findings of one ``check``, in the order the check made them.

    Owned by the one thread that runs the check; not task-safe.
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def ok(self, text: str) -> None:
        """Record something the lab asks for that is there."""
        self.findings.append(Finding(PASS, text))

    def missing(self, text: str, hint: str | None = None) -> None:
        """Record something the lab asks for that is not there (yet), with what to do about it."""
        self.findings.append(Finding(MISSING, text, hint))

    def expect(self, condition: bool, text: str, missing_text: str | None = None,
               hint: str | None = None) -> bool:
        """``ok(text)`` if ``condition``, else ``missing(missing_text or text, hint)``; return ``condition``."""
        if condition:
            self.ok(text)
        else:
            self.missing(missing_text or text, hint)
        return bool(condition)

    @property
    def passed(self) -> bool:
        """True when there is at least one finding and none is missing."""
        return bool(self.findings) and all(f.status == PASS for f in self.findings)

    @property
    def missing_count(self) -> int:
        return sum(1 for f in self.findings if f.status == MISSING)

    def lines(self) -> list[str]:
        """Every finding as printed by ``minikafka lab check``."""
        return [finding.line() for finding in self.findings]

    def summary(self) -> str:
        """The last line: done, or how many things are still missing."""
        if self.passed:
            return f"all {len(self.findings)} checks pass: lab done"
        if not self.findings:
            return "the check found nothing to report"
        return f"{self.missing_count} of {len(self.findings)} checks missing"
