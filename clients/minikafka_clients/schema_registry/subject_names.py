"""Subject name strategies: under which subject a topic's schema is registered.

Confluent's three, as functions ``(topic, field, record_name) -> subject``:

- ``topic_name_strategy`` (the default): ``<topic>-key`` / ``<topic>-value``.
  One schema (and its evolutions) per topic and field.
- ``record_name_strategy``: the record's full name (``com.acme.Payment``).
  Several event types in one topic; each type evolves on its own, in every topic.
- ``topic_record_name_strategy``: ``<topic>-<record full name>``.
"""

from __future__ import annotations


def topic_name_strategy(topic: str, field: str, record_name: str | None) -> str:
    return f"{topic}-{field}"


def record_name_strategy(topic: str, field: str, record_name: str | None) -> str:
    if not record_name:
        raise ValueError("the record name strategy needs a named record schema")
    return record_name


def topic_record_name_strategy(topic: str, field: str, record_name: str | None) -> str:
    return f"{topic}-{record_name_strategy(topic, field, record_name)}"
