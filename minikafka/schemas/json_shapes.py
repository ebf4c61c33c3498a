"""How a JSON Schema is seen before two are compared: nodes and shapes.

A *node* is a schema document (or a part of one) with the resolver of its
base URI, so ``$ref`` can be followed from it. A *shape* is what kind of
schema a node is, the way Confluent's registry classifies it:
``{"type": "integer"}`` and ``{"type": "number"}`` are both numbers;
``"type": [a, b]`` is an ``anyOf``; a schema that mixes a type with ``enum``,
``const``, ``not`` or a combiner is an implicit ``allOf`` of its parts;
``true``/``{}`` is the empty schema, ``false`` the false schema; a schema
with no ``type`` takes the kind of the keywords it uses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import referencing
import referencing.jsonschema

_OBJECT_KEYWORDS = {"properties", "required", "additionalProperties", "patternProperties",
                    "minProperties", "maxProperties", "dependencies", "dependentRequired",
                    "dependentSchemas", "propertyNames"}
_ARRAY_KEYWORDS = {"items", "prefixItems", "additionalItems", "minItems", "maxItems",
                   "uniqueItems", "contains"}
_STRING_KEYWORDS = {"minLength", "maxLength", "pattern"}
_NUMBER_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_COMBINERS = ("allOf", "anyOf", "oneOf")
_TYPE_OF_NAME = {"object": "object", "array": "array", "string": "string", "integer": "number",
                 "number": "number", "boolean": "boolean", "null": "null"}


@dataclasses.dataclass(frozen=True)
class Node:
    """A schema document (or part of one) with the resolver of its base URI."""

    contents: Any
    resolver: referencing.Resolver

    def child(self, contents: Any) -> "Node":
        """A part of this node's document (a part with its own ``$id`` is its own base URI)."""
        resolver = self.resolver
        if isinstance(contents, dict) and isinstance(contents.get("$id"), str):
            resolver = resolver.in_subresource(referencing.Resource.from_contents(
                contents, default_specification=referencing.jsonschema.DRAFT7))
        return Node(contents, resolver)

    def resolved(self) -> "Node":
        """Follow ``$ref`` until a schema that is not a reference."""
        node, seen = self, set()
        while isinstance(node.contents, dict) and isinstance(node.contents.get("$ref"), str):
            if id(node.contents) in seen:
                break
            seen.add(id(node.contents))
            target = node.resolver.lookup(node.contents["$ref"])
            node = Node(target.contents, target.resolver).child(target.contents)
        return node


@dataclasses.dataclass(frozen=True)
class Shape:
    """What kind of schema a node is, as Confluent's registry classifies it.

    ``kind`` is one of empty, false, object, array, string, number, boolean,
    null, enum, const, not, combined. ``criterion`` and ``parts`` are set for
    combined shapes (``parts`` are nodes or already-built shapes).
    """

    kind: str
    node: Node
    keywords: dict
    criterion: str = ""
    parts: tuple = ()


def shape_of(node: Node) -> Shape:
    """The shape of a node that is not a ``$ref`` (resolve it first)."""
    schema = node.contents
    if schema is True:
        return Shape("empty", node, {})
    if schema is False:
        return Shape("false", node, {})
    parts: list[Any] = []
    typed = typed_shape(node)
    if typed is not None:
        parts.append(typed)
    if "enum" in schema:
        parts.append(Shape("enum", node, schema))
    if "const" in schema:
        parts.append(Shape("const", node, schema))
    if "not" in schema:
        parts.append(Shape("not", node, schema))
    for criterion in _COMBINERS:
        if criterion in schema:
            children = tuple(node.child(sub) for sub in schema[criterion])
            parts.append(Shape("combined", node, schema, criterion, children))
    if not parts:
        return Shape("empty", node, schema)
    if len(parts) == 1:
        return parts[0]
    return Shape("combined", node, schema, "allOf", tuple(parts))  # implicit allOf


def typed_shape(node: Node) -> Shape | None:
    """The part of a schema its ``type`` (or, without one, its keywords) describes."""
    schema = node.contents
    names = schema.get("type")
    if isinstance(names, list) and len(names) == 1:
        names = names[0]
    if isinstance(names, list):
        rest = {k: v for k, v in schema.items() if k not in ("type", "enum", "const", "not", *_COMBINERS)}
        branches = tuple(typed_shape(Node({**rest, "type": name}, node.resolver)) for name in names)
        return Shape("combined", node, schema, "anyOf", branches)
    if isinstance(names, str):
        return Shape(_TYPE_OF_NAME[names], node, schema)
    present = [kind for kind, words in (("object", _OBJECT_KEYWORDS), ("array", _ARRAY_KEYWORDS),
                                        ("string", _STRING_KEYWORDS), ("number", _NUMBER_KEYWORDS))
               if words & schema.keys()]
    if len(present) == 1:
        return Shape(present[0], node, schema)
    if len(present) > 1:
        return Shape("combined", node, schema, "anyOf",
                     tuple(Shape(kind, node, schema) for kind in present))
    return None


def as_shape(part: Any) -> Shape:
    """A combined shape's part as a shape (parts are nodes, or shapes already)."""
    return part if isinstance(part, Shape) else shape_of(part.resolved())
