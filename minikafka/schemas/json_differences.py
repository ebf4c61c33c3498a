"""The differences between two JSON Schemas, as Confluent's registry names them.

A difference is a type (``TYPE_NARROWED``, ``PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL``,
...) and a JSON path (``#/properties/age``). ``COMPATIBLE_CHANGES`` lists the
types that never make a document of the writer schema invalid under the
reader schema; every other type is a reason the evolution is refused.
"""

from __future__ import annotations

from minikafka.schemas import base

COMPATIBLE_CHANGES = frozenset({
    "ID_CHANGED", "DESCRIPTION_CHANGED", "TITLE_CHANGED", "DEFAULT_CHANGED", "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED", "MIN_LENGTH_REMOVED",
    "PATTERN_REMOVED",
    "MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED", "MINIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED", "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_DECREASED", "EXCLUSIVE_MINIMUM_REMOVED",
    "MULTIPLE_OF_REDUCED", "MULTIPLE_OF_REMOVED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED",
    "DEPENDENCY_ARRAY_NARROWED", "DEPENDENCY_ARRAY_REMOVED", "DEPENDENCY_SCHEMA_REMOVED",
    "MAX_PROPERTIES_INCREASED", "MAX_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_DECREASED", "MIN_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED", "ADDITIONAL_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "UNEVALUATED_PROPERTIES_ADDED", "UNEVALUATED_PROPERTIES_EXTENDED",
    "MAX_ITEMS_INCREASED", "MAX_ITEMS_REMOVED", "MIN_ITEMS_DECREASED", "MIN_ITEMS_REMOVED",
    "MAX_CONTAINS_INCREASED", "MAX_CONTAINS_REMOVED", "MIN_CONTAINS_DECREASED", "MIN_CONTAINS_REMOVED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED", "ADDITIONAL_ITEMS_EXTENDED",
    "UNEVALUATED_ITEMS_ADDED", "UNEVALUATED_ITEMS_EXTENDED",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED", "COMBINED_TYPE_EXTENDED", "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED", "NOT_TYPE_NARROWED",
})
"""Confluent's compatible changes (its default, strict policy)."""


class Difference(base.Difference):
    """A difference between two JSON Schemas (Confluent's ``JsonSchemaDiff`` names)."""

    COMPATIBLE_CHANGES = COMPATIBLE_CHANGES

    def description(self) -> str:
        return _describe(self.type, self.path)


# "reader": the schema that must accept the documents; "writer": the one they were
# written with (the compatibility levels rename them "new"/"old" for the direction they check).
_EXPLANATIONS = {
    "TYPE_CHANGED": "The type at path '{path}' in the reader schema is not the writer schema's",
    "TYPE_NARROWED": "A type at path '{path}' in the reader schema accepts fewer values than in the writer schema",
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL":
        "The property at path '{path}' in the writer schema is missing in the reader schema, "
        "which does not allow additional properties",
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL":
        "The property at path '{path}' in the reader schema is new, but the writer schema allows "
        "additional properties of any type under that name",
    "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL":
        "The required property at path '{path}' in the reader schema is missing in the writer schema",
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
        "The required property at path '{path}' in the reader schema is missing in the writer schema",
    "REQUIRED_ATTRIBUTE_ADDED":
        "The property at path '{path}' is required in the reader schema but not in the writer schema",
    "ADDITIONAL_PROPERTIES_REMOVED":
        "The reader schema at path '{path}' does not allow additional properties; the writer schema does",
    "COMBINED_TYPE_SUBSCHEMAS_CHANGED":
        "A subschema at path '{path}' in the writer schema has no compatible subschema in the reader schema",
}


def _describe(kind: str, path: str) -> str:
    if kind in _EXPLANATIONS:
        return _EXPLANATIONS[kind].format(path=path)
    change = kind.rsplit("_", 1)[-1].lower()  # added, removed, increased, narrowed, ...
    what = kind.rsplit("_", 1)[0].lower().replace("_", " ")
    return (f"At path '{path}', the change from the writer schema to the reader schema "
            f"({what} {change}) may refuse documents the writer schema accepts")


def path_text(parts: tuple[str, ...]) -> str:
    return "#/" + "/".join(parts)
