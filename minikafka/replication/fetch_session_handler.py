"""The fetcher's side of a fetch session (KIP-227; Kafka's ``FetchSessionHandler``).

A fetcher (a follower's ``ReplicaFetcher``) keeps one session with the
broker it fetches from. Before each Fetch it hands :meth:`build` the
partitions it wants, with their request fields; :meth:`build` answers what
to put in the request:

- no session yet (or after an error): a *full* fetch, ``session_epoch`` 0,
  every partition named; the answer's ``session_id`` (0: the broker had no
  slot) starts the session at epoch 1;
- in a session: an *incremental* fetch, ``session_id`` and the session's
  epoch, naming only the partitions that are new or whose fields changed
  (``fetch_offset``, ``last_fetched_epoch``, ...), and in
  ``forgotten_topics_data`` those no longer wanted. The answer names only
  partitions with news; the others are as they were.

Every answer goes to :meth:`handle_response`: a session error
(FETCH_SESSION_ID_NOT_FOUND: the session is gone; INVALID_FETCH_SESSION_EPOCH
and the rest: it is out of step) makes the next fetch full again, closing the
old session if it may still exist. A failed exchange goes to
:meth:`handle_error`, with the same effect.

Sans-I/O: partitions are ``{(topic, index): request fields}`` dicts; nothing
here sends or waits.
"""

from __future__ import annotations

import dataclasses

from minikafka.errors import ErrorCode
from minikafka.replication.fetch_session import INITIAL_EPOCH, INVALID_SESSION_ID, next_epoch


@dataclasses.dataclass(frozen=True)
class FetchRequestData:
    """What the next Fetch carries: session fields, partitions to name, partitions to forget."""

    session_id: int
    session_epoch: int
    to_send: dict[tuple[str, int], dict]
    forgotten: list[tuple[str, int]]

    @property
    def is_full(self) -> bool:
        return self.session_epoch == INITIAL_EPOCH


class FetchSessionHandler:
    """One fetcher's session with one broker. Owned by that fetcher; not shared.

    ``session_partitions`` is what the broker's session holds after the last
    request built: every partition and the fields last sent for it.
    """

    def __init__(self) -> None:
        self.session_id = INVALID_SESSION_ID
        self.epoch = INITIAL_EPOCH
        self.session_partitions: dict[tuple[str, int], dict] = {}

    def build(self, wanted: dict[tuple[str, int], dict]) -> FetchRequestData:
        """The next request's session fields and partitions, for fetching ``wanted``."""
        previous, self.session_partitions = self.session_partitions, dict(wanted)
        if self.epoch == INITIAL_EPOCH:
            return FetchRequestData(self.session_id, INITIAL_EPOCH, dict(wanted), [])
        to_send = {key: fields for key, fields in wanted.items() if previous.get(key) != fields}
        forgotten = [key for key in previous if key not in wanted]
        return FetchRequestData(self.session_id, self.epoch, to_send, forgotten)

    def handle_response(self, error_code: int, session_id: int) -> bool:
        """Take the answer's top-level fields; False if it was a session error (fetch again, full)."""
        if error_code != ErrorCode.NONE:
            if error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND:
                self._start_over(INVALID_SESSION_ID)
            else:
                self._start_over(self.session_id)  # the full fetch closes the session on the broker
            return False
        if session_id == INVALID_SESSION_ID:
            self._start_over(INVALID_SESSION_ID)  # no slot, or the broker closed the session
        elif self.epoch == INITIAL_EPOCH:
            self.session_id, self.epoch = session_id, 1
        else:
            self.epoch = next_epoch(self.epoch)
        return True

    def handle_error(self) -> None:
        """The exchange failed (no answer): fetch in full next, closing the session we had."""
        self._start_over(self.session_id)

    def _start_over(self, session_id: int) -> None:
        self.session_id, self.epoch = session_id, INITIAL_EPOCH
        self.session_partitions = {}
