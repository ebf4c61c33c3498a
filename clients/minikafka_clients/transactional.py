"""The transactional producer's requests to its coordinators.

``transaction_manager.py`` decides; this module talks. It owns where the
transaction coordinator is (FindCoordinator, key type 1, keyed by the
``transactional.id``) and where each consumer group's coordinator is (key
type 0, for TxnOffsetCommit), and sends:

==================  =======  ==================  ===============================
request             API key  to                  when
==================  =======  ==================  ===============================
InitProducerId      22       txn coordinator     init_transactions(); an epoch
                                                 bump after an abort (KIP-360)
AddPartitionsToTxn  24       txn coordinator     before a partition's first batch
                                                 (v0-3: the client's form; v4+ is
                                                 the brokers' batched form)
AddOffsetsToTxn     25       txn coordinator     send_offsets_to_transaction()
TxnOffsetCommit     28       group coordinator   then, with the consumer's group
                                                 metadata (KIP-447)
EndTxn              26       txn coordinator     commit / abort, once every batch
                                                 is acknowledged
==================  =======  ==================  ===============================

Each call but AddPartitionsToTxn loops until the answer is final: a
retriable error waits ``retry.backoff.ms`` (KIP-580 growth) and sends the
same request again, a coordinator error (NOT_COORDINATOR, a broken
connection) forgets the coordinator first. The producer bounds the loop
with ``max.block.ms``. AddPartitionsToTxn is sent by the sender task, one
attempt per round (``add_partitions_once``), so that the answers of Produce
requests already in flight are not held up behind its retries.

One transactional request at a time (``lock``), as in Kafka's client: an
AddPartitionsToTxn answered after an abort began must not be mistaken for
the next transaction's, and EndTxn must follow the last AddPartitionsToTxn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import groups
from .connection import KafkaConnectionError
from .groups import GROUP_KEY_TYPE, TRANSACTION_KEY_TYPE, Coordinator, OffsetAndMetadata
from .idempotence import IdempotenceState
from .retry import ExponentialBackoff
from .transaction_manager import Outcome, TransactionManager, error_for, outcome_of

INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN = 22, 24, 25
END_TXN, TXN_OFFSET_COMMIT = 26, 28
CLIENT_ADD_PARTITIONS_MAX_VERSION = 3  # v4+ is the brokers' (batched, verify_only) form
ADD_PARTITIONS_RETRY_BACKOFF_MS = 20  # Kafka's, for the first partitions of a transaction

TopicPartition = tuple[str, int]
log = logging.getLogger(__name__)


class TransactionalRequests:
    """Sends the transactional requests of one producer (owned by its Trio run).

    Args:
        cluster: the producer's ``Cluster``.
        manager: its ``TransactionManager``.
        idempotence: its producer id, epoch and sequences.
        config: its ``ProducerConfig``.
    """

    def __init__(self, cluster, manager: TransactionManager, idempotence: IdempotenceState, config):
        self.cluster = cluster
        self.manager = manager
        self.idempotence = idempotence
        self.config = config
        self.backoff = ExponentialBackoff(config.retry_backoff_ms, config.retry_backoff_max_ms)
        self._coordinators: dict[tuple[int, str], Coordinator] = {}
        self.lock = trio.Lock()  # one transactional request in flight at a time

    # -- coordinators ----------------------------------------------------------------

    async def _coordinator_connection(self, key_type: int, key: str):
        """The connection to the coordinator of ``key``, asking FindCoordinator if unknown."""
        coordinator = self._coordinators.get((key_type, key))
        if coordinator is None:
            coordinator = await groups.find_coordinator(self.cluster, key, key_type)
            self._coordinators[(key_type, key)] = coordinator
        return await self.cluster.connection_to_address(coordinator.host, coordinator.port)

    def forget_coordinator(self, key_type: int = TRANSACTION_KEY_TYPE, key: str | None = None) -> None:
        """Ask FindCoordinator again next time (it moved, or its connection broke)."""
        self._coordinators.pop((key_type, key or self.manager.transactional_id), None)

    async def _send(self, api: str, api_key: int, body: dict, *, key_type: int = TRANSACTION_KEY_TYPE,
                    key: str | None = None, max_version: int | None = None):
        """One attempt: ``(outcome, error code, response)``.

        A FindCoordinator error is handled as the API's own error would be
        (retriable: retry; else Kafka's FindCoordinator outcome); a broken
        connection forgets the coordinator and retries.
        """
        key = key or self.manager.transactional_id
        try:
            connection = await self._coordinator_connection(key_type, key)
            version = None if max_version is None else min(connection.version_for(api_key), max_version)
            response = await self.cluster.request(connection, api_key, body, api_version=version)
        except KafkaError as exc:  # from FindCoordinator
            return outcome_of("FindCoordinator", exc.code), exc.code, None
        except KafkaConnectionError as exc:
            log.debug("%s: connection to the coordinator failed: %s", api, exc)
            self.forget_coordinator(key_type, key)
            return Outcome.RETRY, ErrorCode.NETWORK_EXCEPTION, None
        return None, ErrorCode.NONE, response

    async def _until_final(self, api: str, api_key: int, body: dict, error_of, **kwargs):
        """Send until the outcome is not RETRY / FIND_COORDINATOR; ``(outcome, code, response)``."""
        attempts = 0
        while True:
            outcome, code, response = await self._send(api, api_key, body, **kwargs)
            if outcome is None:
                code = error_of(response)
                outcome = outcome_of(api, code)
            if outcome not in (Outcome.RETRY, Outcome.FIND_COORDINATOR):
                return outcome, code, response
            if outcome == Outcome.FIND_COORDINATOR:
                self.forget_coordinator(kwargs.get("key_type", TRANSACTION_KEY_TYPE), kwargs.get("key"))
            log.debug("%s: %s, retrying", api, ErrorCode(code).name)
            await trio.sleep(self.backoff.backoff_ms(attempts) / 1000)
            attempts += 1

    def _fail(self, api: str, outcome: Outcome, code: int) -> None:
        """Enter the error state of a final, failed outcome and raise its error."""
        error = error_for(api, code, self.manager.transactional_id)
        self.manager.apply(outcome, error)
        raise error

    # -- InitProducerId ------------------------------------------------------------------

    async def init_producer_id(self, *, bump: bool = False) -> None:
        """Get the producer id and epoch of the ``transactional.id`` (fencing older
        instances: the coordinator bumps the epoch), or bump our own epoch."""
        async with self.lock:
            await self._init_producer_id(bump)

    async def _init_producer_id(self, bump: bool) -> None:
        state = self.idempotence
        body = {"transactional_id": self.manager.transactional_id,
                "transaction_timeout_ms": int(self.config.transaction_timeout_ms),
                "producer_id": state.producer_id if bump else -1,
                "producer_epoch": state.producer_epoch if bump else -1}
        outcome, code, response = await self._until_final(
            "InitProducerId", INIT_PRODUCER_ID, body, lambda r: r.error_code)
        if outcome != Outcome.DONE:
            self._fail("InitProducerId", outcome, code)
        state.set_producer_id(response.producer_id, response.producer_epoch)
        self.manager.initialized()
        log.debug("transactional id %s: producer id %s, epoch %s", self.manager.transactional_id,
                  response.producer_id, response.producer_epoch)

    # -- AddPartitionsToTxn (the sender's) ---------------------------------------------------

    async def add_partitions_once(self) -> float:
        """Send one AddPartitionsToTxn for the new partitions, if any.

        Returns:
            How long the sender should wait before the next attempt (ms):
            0 when done or nothing to do, a backoff after a retriable error.
        """
        if not self.manager.new_partitions:
            return 0
        async with self.lock:
            return await self._add_partitions()

    async def _add_partitions(self) -> float:
        manager = self.manager
        first_of_transaction = not manager.partitions_in_transaction
        partitions = manager.take_partitions_to_add()
        if not partitions:
            return 0
        outcome, code, response = await self._send(
            "AddPartitionsToTxn", ADD_PARTITIONS_TO_TXN, self._add_partitions_body(partitions),
            max_version=CLIENT_ADD_PARTITIONS_MAX_VERSION)
        if outcome is None:
            results = {(t.name, p.partition_index): p.partition_error_code
                       for t in response.results_by_topic_v3_and_below for p in t.results_by_partition}
            for tp in partitions:
                results.setdefault(tp, ErrorCode.UNKNOWN_SERVER_ERROR)
            outcome = manager.partitions_added(results)
            code = next((c for c in results.values() if c), ErrorCode.NONE)
        else:
            manager.partitions_added({tp: code for tp in partitions})
        if outcome == Outcome.FIND_COORDINATOR:
            self.forget_coordinator()
        if outcome not in (Outcome.RETRY, Outcome.FIND_COORDINATOR):
            return 0
        if code == ErrorCode.CONCURRENT_TRANSACTIONS and first_of_transaction:
            # The previous transaction is still completing; it will be done soon.
            return min(ADD_PARTITIONS_RETRY_BACKOFF_MS, self.config.retry_backoff_ms)
        return self.config.retry_backoff_ms

    def _add_partitions_body(self, partitions: list[TopicPartition]) -> dict:
        by_topic: dict[str, list[int]] = {}
        for topic, index in partitions:
            by_topic.setdefault(topic, []).append(index)
        return {"v3_and_below_transactional_id": self.manager.transactional_id,
                "v3_and_below_producer_id": self.idempotence.producer_id,
                "v3_and_below_producer_epoch": self.idempotence.producer_epoch,
                "v3_and_below_topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
                "transactions": []}

    # -- offsets (KIP-447) ------------------------------------------------------------------

    async def send_offsets(self, offsets: Mapping[TopicPartition, int | OffsetAndMetadata],
                           group_metadata) -> None:
        """AddOffsetsToTxn, then TxnOffsetCommit of ``offsets`` for the consumer's group."""
        async with self.lock:
            await self._send_offsets(offsets, group_metadata)

    async def _send_offsets(self, offsets, group_metadata) -> None:
        body = {"transactional_id": self.manager.transactional_id,
                "producer_id": self.idempotence.producer_id,
                "producer_epoch": self.idempotence.producer_epoch,
                "group_id": group_metadata.group_id}
        outcome, code, _ = await self._until_final("AddOffsetsToTxn", ADD_OFFSETS_TO_TXN, body,
                                                   lambda r: r.error_code)
        if outcome != Outcome.DONE:
            self._fail("AddOffsetsToTxn", outcome, code)
        self.manager.transaction_started = True
        await self._txn_offset_commit(dict(offsets), group_metadata)

    async def _txn_offset_commit(self, offsets: dict, group_metadata) -> None:
        """TxnOffsetCommit until every partition is committed (retrying only the ones that failed)."""
        group_id = group_metadata.group_id
        attempts = 0
        while offsets:
            outcome, code, response = await self._send(
                "TxnOffsetCommit", TXN_OFFSET_COMMIT, self._offset_commit_body(offsets, group_metadata),
                key_type=GROUP_KEY_TYPE, key=group_id)
            if outcome is None:
                outcome, code = self._offsets_committed(offsets, response)
            if outcome not in (Outcome.DONE, Outcome.RETRY, Outcome.FIND_COORDINATOR):
                self._fail("TxnOffsetCommit", outcome, code)
            if outcome == Outcome.FIND_COORDINATOR:
                self.forget_coordinator(GROUP_KEY_TYPE, group_id)
            if offsets:
                await trio.sleep(self.backoff.backoff_ms(attempts) / 1000)
                attempts += 1

    @staticmethod
    def _offsets_committed(offsets: dict, response) -> tuple[Outcome, int]:
        """Drop the committed partitions from ``offsets``; the worst outcome and its code."""
        worst, worst_code = Outcome.DONE, ErrorCode.NONE
        order = list(Outcome)
        for topic in response.topics:
            for p in topic.partitions:
                outcome = outcome_of("TxnOffsetCommit", p.error_code)
                if outcome == Outcome.DONE:
                    offsets.pop((topic.name, p.partition_index), None)
                elif order.index(outcome) > order.index(worst):
                    worst, worst_code = outcome, p.error_code
        return worst, worst_code

    def _offset_commit_body(self, offsets: dict, group_metadata) -> dict:
        by_topic: dict[str, list[dict]] = {}
        for (topic, index), value in sorted(offsets.items()):
            offset = value if isinstance(value, OffsetAndMetadata) else OffsetAndMetadata(int(value))
            by_topic.setdefault(topic, []).append({
                "partition_index": index, "committed_offset": offset.offset,
                "committed_leader_epoch": offset.leader_epoch,
                "committed_metadata": offset.metadata})
        return {"transactional_id": self.manager.transactional_id, "group_id": group_metadata.group_id,
                "producer_id": self.idempotence.producer_id,
                "producer_epoch": self.idempotence.producer_epoch,
                "generation_id": group_metadata.generation_id, "member_id": group_metadata.member_id,
                "group_instance_id": group_metadata.group_instance_id,
                "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()]}

    # -- EndTxn -----------------------------------------------------------------------------------

    async def end_transaction(self, commit: bool, sequences_unreliable: bool) -> bool:
        """End the transaction once every batch is answered: EndTxn if anything was
        added (the coordinator writes PrepareCommit/PrepareAbort, answers, then
        writes the markers), else nothing, as Kafka. Returns whether the epoch
        must be bumped now (``TransactionManager.complete_transaction``).

        Raises:
            KafkaError: a batch failed (commit only: abort instead), or EndTxn did.
        """
        async with self.lock:  # after an AddPartitionsToTxn still in flight
            self.manager.raise_if_error()
            if self.manager.needs_end_txn():
                await self._end_txn(commit)
            return self.manager.complete_transaction(sequences_unreliable)

    async def _end_txn(self, commit: bool) -> None:
        body = {"transactional_id": self.manager.transactional_id,
                "producer_id": self.idempotence.producer_id,
                "producer_epoch": self.idempotence.producer_epoch, "committed": commit}
        outcome, code, _ = await self._until_final("EndTxn", END_TXN, body, lambda r: r.error_code)
        if outcome != Outcome.DONE:
            self._fail("EndTxn", outcome, code)
