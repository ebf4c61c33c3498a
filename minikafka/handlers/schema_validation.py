"""Broker-side schema id validation: refuse batches whose records a schema registry does not vouch for.

Confluent Server's feature, with its config names. A topic turns it on with
``confluent.value.schema.validation=true`` (and/or
``confluent.key.schema.validation=true``); the broker finds the registry at
``confluent.schema.registry.url``. The partition leader then checks, before
appending, that every record's value (key) is in the schema registry's wire
format and that its schema id is registered under the record's subject::

    byte 0      magic byte, always 0
    bytes 1-4   the schema id, a big-endian int32 the registry handed out
    bytes 5-    the serialized data (Avro, JSON, Protobuf: not looked at)

The broker does not decode the data against the schema: it checks the id,
as Confluent Server does. The subject comes from the topic's subject name
strategy (``confluent.value.subject.name.strategy``, Confluent's class names):

===========================  ======================================================
strategy                     subject of a value (a key: ``-key``)
===========================  ======================================================
``TopicNameStrategy``        ``<topic>-value`` (the default)
``RecordNameStrategy``       the full name of the schema's record (``com.acme.Order``)
``TopicRecordNameStrategy``  ``<topic>-<record full name>``
===========================  ======================================================

The record-name strategies fetch the schema (``GET /schemas/ids/{id}``) to
learn its record's name; a schema with references is parsed without them, so
one whose record name cannot be read refuses its records.

Rules (Confluent's documented behaviour):

- A null value (a tombstone) or a null key passes: compacted topics must
  still be able to delete keys.
- The whole batch is refused if any record fails, and nothing of it is
  appended: ``INVALID_RECORD``, with KIP-467's ``record_errors`` (the index
  of each failing record in the batch and why) and an ``error_message``.
  Kafka's Java client fails the records listed with their message and the
  others of the batch as collateral; librdkafka fails them all with
  INVALID_RECORD.
- Compressed batches are decompressed to read their records (the core's
  ``read_batches``); a batch the core cannot decode is left to the append,
  which refuses it with the usual CORRUPT_MESSAGE.

The registry cannot be asked (down, timing out, or no
``confluent.schema.registry.url`` on this broker): the batch is refused with
INVALID_RECORD and a message saying why, never appended unchecked.
Confluent's documentation does not say what a producer sees then; we chose
the code every other validation refusal uses. INVALID_RECORD is not
retriable, so the producer fails the send at once with the broker's
message, instead of retrying a retriable code until ``delivery.timeout.ms``
and then reporting only a timeout. The price: a registry outage fails the
sends made during it (ids the broker already confirmed still pass, from its
cache), and the application sees it and may send again.

Cost when no topic validates: the produce handler skips this module with one
truthiness test of ``services.validated_topics`` per request; otherwise one
dict lookup per topic of the request.

``validated_topics`` is rebuilt from the metadata image's topic configs each
time the image changes (``Broker._publish``); the lookups go through the
``SchemaIds`` service (``minikafka.server.schema_ids``), which caches the
confirmed ``(id, subject)`` pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from minikafka import schemas
from minikafka.config import TOPIC_NAME_STRATEGY
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.image import TOPIC_RESOURCE
from minikafka.schemas import subject_names, wire_format
from minikafka.handlers.services import BrokerServices, SchemaIds, SchemaRegistryUnavailable, TopicValidation
from minikafka_core.records import InvalidBatchError, read_batches

KEY_VALIDATION = "confluent.key.schema.validation"
VALUE_VALIDATION = "confluent.value.schema.validation"
KEY_STRATEGY = "confluent.key.subject.name.strategy"
VALUE_STRATEGY = "confluent.value.subject.name.strategy"
MAX_LISTED_ERRORS = 3  # how many record errors the top-level message repeats


@dataclasses.dataclass(frozen=True)
class RecordError:
    """One refused record (KIP-467's ``BatchIndexAndErrorMessage``)."""

    batch_index: int
    message: str


def validated_topics(configs: Mapping[tuple[int, str], Mapping[str, str]]) -> dict[str, TopicValidation]:
    """The topics that validate, from the metadata image's config overrides.

    Args:
        configs: the image's ``configs``, ``{(resource_type, resource_name):
            {key: value}}`` (values as strings); only topic resources are read.
    """
    topics = {}
    for (resource_type, topic), overrides in configs.items():
        if resource_type != TOPIC_RESOURCE:
            continue
        key_on = _is_true(overrides.get(KEY_VALIDATION))
        value_on = _is_true(overrides.get(VALUE_VALIDATION))
        if key_on or value_on:
            topics[topic] = TopicValidation(
                overrides.get(KEY_STRATEGY, TOPIC_NAME_STRATEGY).strip() if key_on else None,
                overrides.get(VALUE_STRATEGY, TOPIC_NAME_STRATEGY).strip() if value_on else None)
    return topics


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


async def refuse_invalid(services: BrokerServices, request, refused: dict) -> None:
    """Validate every partition of ``request`` whose topic validates; refuse the ones that fail.

    Runs before the produce handler's per-partition loop, as the KIP-890
    verification does: the lookups may wait on the registry, the appends
    must not.

    Args:
        refused: ``{(topic, index): (code, message[, record_errors])}``; the
            partitions already refused are skipped, new refusals are added.
    """
    verdicts: dict[tuple, dict] = {}  # {(topic, side): {first five bytes: verdict}}, for this request
    for topic in request.topic_data:
        validation = services.validated_topics.get(topic.name)
        if validation is None:
            continue
        for data in topic.partition_data:
            key = (topic.name, data.index)
            if key in refused or data.records is None or not _leads(services, topic.name, data.index):
                continue
            refusal = await _check_partition(services.schema_ids, topic.name, data.index, validation,
                                             data.records, verdicts)
            if refusal is not None:
                refused[key] = refusal


def _leads(services: BrokerServices, topic: str, index: int) -> bool:
    """Only the partition leader validates; elsewhere the append answers NOT_LEADER_OR_FOLLOWER (or
    UNKNOWN_TOPIC_OR_PARTITION), which sends the producer to the leader instead of failing it."""
    try:
        services.partitions.leader_partition(topic, index)
    except KafkaError:
        return False
    return True


async def _check_partition(schema_ids: SchemaIds | None, topic: str, index: int, validation: TopicValidation,
                           records, verdicts: dict) -> tuple | None:
    """The refusal ``(INVALID_RECORD, message, record_errors)`` of one partition's batch, or None."""
    if schema_ids is None:
        return (ErrorCode.INVALID_RECORD, f"Topic {topic} requires schema validation, but this broker has no "
                "confluent.schema.registry.url to validate against", [])
    try:
        decoded = _decode(records)
    except InvalidBatchError:
        return None  # the append refuses a batch it cannot read, with the precise reason
    try:
        errors = await _record_errors(schema_ids, topic, validation, decoded, verdicts)
    except SchemaRegistryUnavailable as exc:
        return (ErrorCode.INVALID_RECORD, f"Schema validation of {topic}-{index} failed: the schema "
                f"registry could not be reached ({exc}); the batch was not appended", [])
    if not errors:
        return None
    return (ErrorCode.INVALID_RECORD, _summary(topic, index, errors),
            [{"batch_index": e.batch_index, "batch_index_error_message": e.message} for e in errors])


async def _record_errors(schema_ids: SchemaIds, topic: str, validation: TopicValidation, decoded: list,
                         verdicts: dict) -> list[RecordError]:
    """The failing records of a batch, at most one error per record (its key's, else its value's).

    A verdict depends only on the topic, the side and the payload's first
    five bytes (magic byte and schema id), and most records of a batch
    repeat them: each verdict is reached once per request and looked up by
    those bytes for the other records.

    Raises:
        SchemaRegistryUnavailable: a verdict needed the registry, which did not answer.
    """
    checks = [(side, strategy, verdicts.setdefault((topic, side), {}))
              for side, strategy in (("key", validation.key_strategy), ("value", validation.value_strategy))
              if strategy is not None]
    errors = []
    for batch_index, record in enumerate(decoded):
        for side, strategy, known in checks:
            payload = record.key if side == "key" else record.value
            if payload is None:  # a null key, or a tombstone: passes
                continue
            head = bytes(payload[:wire_format.HEADER_SIZE])
            if head not in known:
                known[head] = await _verdict(schema_ids, topic, side, strategy, wire_format.schema_id(head))
            if known[head] is not None:
                errors.append(RecordError(batch_index, known[head]))
                break
    return errors


def _decode(records) -> list:
    """Every record of the request's batches (Produce v3+ sends one), decompressed.

    Raises:
        InvalidBatchError: a batch the core cannot decode; also a batch whose
            CRC does not match (its records cannot be trusted).
    """
    decoded = []
    for batch in read_batches(records):
        if batch.records is None:
            raise InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, "CRC mismatch")
        decoded.extend(batch.records)
    return decoded


async def _verdict(schema_ids: SchemaIds, topic: str, side: str, strategy: str,
                   schema_id: int | None) -> str | None:
    """Why a key or value with this schema id (None: not in the wire format) fails validation; None: it passes."""
    if schema_id is None:
        return (f"The {side} does not start with the schema registry wire format (magic byte 0 and a "
                "4-byte schema id)")
    subject = await _subject(schema_ids, topic, side, strategy, schema_id)
    if subject is None:
        return (f"The {side} has schema id {schema_id}, which the schema registry does not know (or whose "
                "record name cannot be read)")
    if not await schema_ids.is_registered(schema_id, subject):
        return f"The {side} has schema id {schema_id}, which is not registered under subject '{subject}'"
    return None


async def _subject(schema_ids: SchemaIds, topic: str, side: str, strategy: str, schema_id: int) -> str | None:
    """The subject the record's schema must be registered under, by the topic's strategy.

    The record-name strategies name the subject after the schema's record,
    so they fetch the schema first; None when the registry has no schema
    with that id (or one whose record name cannot be read).
    """
    record_name = None
    if subject_names.uses_record_name(strategy):
        record_name = await _record_name(schema_ids, schema_id)
        if record_name is None:
            return None
    return subject_names.subject_name(strategy, topic, side == "key", record_name)


async def _record_name(schema_ids: SchemaIds, schema_id: int) -> str | None:
    """The full name of the record (message) schema ``schema_id`` describes, None if unknown.

    A schema with references is parsed without them, so one whose record
    uses a referenced type cannot be read: its records are refused.
    """
    document = await schema_ids.schema(schema_id)
    if not isinstance(document, dict) or not isinstance(document.get("schema"), str):
        return None
    try:
        names = schemas.parse(document.get("schemaType", "AVRO"), document["schema"], {}).record_names()
    except schemas.InvalidSchemaError:
        return None
    return names[0] if names else None


def _summary(topic: str, index: int, errors: list[RecordError]) -> str:
    """The response's ``error_message``: how many records failed, and the first few reasons."""
    listed = "; ".join(f"record {e.batch_index}: {e.message}" for e in errors[:MAX_LISTED_ERRORS])
    more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
    return (f"{len(errors)} record(s) of the batch for {topic}-{index} failed schema validation and "
            f"nothing of the batch was appended: {listed}{more}")
