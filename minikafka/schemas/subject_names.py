"""Subject name strategies: under which subject a topic's key or value schema is registered.

A *subject* is the name a schema's versions are kept under. Confluent's
serializers and Confluent Server's broker-side validation derive it from
the topic and the record, with one of three strategies (configured by
their Java class names, as ``key.subject.name.strategy`` /
``value.subject.name.strategy`` and the topic configs
``confluent.key.subject.name.strategy`` /
``confluent.value.subject.name.strategy``):

- TopicNameStrategy (the default): ``<topic>-key`` or ``<topic>-value``;
  one schema (and its evolutions) per topic.
- RecordNameStrategy: the record's full name (``com.acme.Order``); a topic
  may hold several record types, each evolving on its own, in every topic.
- TopicRecordNameStrategy: ``<topic>-<record full name>``; several record
  types per topic, evolving per topic.
"""

from __future__ import annotations

_PACKAGE = "io.confluent.kafka.serializers.subject."
TOPIC_NAME_STRATEGY = _PACKAGE + "TopicNameStrategy"
RECORD_NAME_STRATEGY = _PACKAGE + "RecordNameStrategy"
TOPIC_RECORD_NAME_STRATEGY = _PACKAGE + "TopicRecordNameStrategy"
STRATEGIES = (TOPIC_NAME_STRATEGY, RECORD_NAME_STRATEGY, TOPIC_RECORD_NAME_STRATEGY)
DEFAULT_STRATEGY = TOPIC_NAME_STRATEGY


def strategy_class(name: str) -> str:
    """The full class name of a strategy, given its full or simple class name.

    Raises:
        ValueError: not one of the three strategies.
    """
    for strategy in STRATEGIES:
        if name in (strategy, strategy.rpartition(".")[2]):
            return strategy
    raise ValueError(f"unknown subject name strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def uses_record_name(strategy: str) -> bool:
    """True if the strategy needs the record's name (so the schema must be known first)."""
    return strategy_class(strategy) != TOPIC_NAME_STRATEGY


def subject_name(strategy: str, topic: str, is_key: bool, record_name: str | None = None) -> str:
    """The subject a key (``is_key``) or value of ``topic`` is registered under.

    Raises:
        ValueError: unknown strategy, or a record-name strategy without a record name.
    """
    strategy = strategy_class(strategy)
    if strategy == TOPIC_NAME_STRATEGY:
        return f"{topic}-{'key' if is_key else 'value'}"
    if not record_name:
        raise ValueError(f"{strategy.rpartition('.')[2]} needs the record's full name")
    if strategy == RECORD_NAME_STRATEGY:
        return record_name
    return f"{topic}-{record_name}"
