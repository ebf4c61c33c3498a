"""Which JSON Schema evolutions are compatible: Confluent's rules.

The question is always *backward*: is every document valid under the
``original`` schema also valid under the ``update``? If so, a reader using
the update can read everything written with the original.

Both schemas are walked side by side. Each schema is first given a *shape*,
the way Confluent's registry sees it: ``{"type": "integer"}`` and
``{"type": "number"}`` are both numbers (one requiring integers); ``"type":
[a, b]`` is an ``anyOf``; a schema that mixes a type with ``enum`` or a
combiner is an implicit ``allOf`` of its parts; ``true``/``{}`` is the empty
schema (anything goes), ``false`` the false schema (nothing does). Every
difference found gets a type named as Confluent names it and a JSON path
(``#/properties/age``); the types in ``COMPATIBLE_CHANGES`` are safe, any
other one makes the evolution incompatible and is reported as the reason.

The content model decides what adding or removing a property means:

* an *open* content model (no ``additionalProperties``, or ``true``) lets
  any extra property through. Removing a property from an open model is
  compatible (old documents still pass); *adding* one is not, because an old
  document may already carry a property of that name with any value;
* a *closed* model (``"additionalProperties": false``) refuses extra
  properties. Adding an optional property is compatible (no old document
  has it); removing one is not (old documents have it and would now fail);
* a *partially open* model (``additionalProperties`` or
  ``patternProperties`` holding a schema) covers a property when that schema
  accepts the property's old values.

Other rules: narrowing a type (``number`` to ``integer``), adding or
tightening a bound (``maximum``, ``maxLength``, ``minItems``...), making a
property required (without a default), narrowing an ``enum``, changing a
``const``, or adding a ``pattern`` is incompatible; the reverse of each is
compatible. For ``oneOf``/``anyOf`` each old branch must be matched by a
compatible new branch; adding branches is compatible, removing them is not.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, Protocol

import referencing

from minikafka.schemas.json_differences import COMPATIBLE_CHANGES, Difference, path_text
from minikafka.schemas.json_shapes import Node, Shape, as_shape, shape_of


class JsonSchemaLike(Protocol):
    """What the rules need of a parsed JSON Schema (``json_schema.JsonSchema`` is one)."""

    schema: Any

    def resolver(self) -> referencing.Resolver: ...


__all__ = ["COMPATIBLE_CHANGES", "Difference", "backward_errors", "differences"]


def backward_errors(update: JsonSchemaLike, original: JsonSchemaLike) -> list[str]:
    """Why documents valid under ``original`` may be invalid under ``update`` (empty: none)."""
    return [d.message() for d in differences(original, update) if not d.compatible]


def differences(original: JsonSchemaLike, update: JsonSchemaLike) -> list[Difference]:
    """Every difference from ``original`` to ``update``, compatible ones included."""
    found = _Comparer().compare(Node(original.schema, original.resolver()),
                                Node(update.schema, update.resolver()))
    unique = dict.fromkeys(Difference(kind, path_text(parts)) for kind, parts in found)
    return list(unique)


# --- the walk ----------------------------------------------------------------

_Found = list[tuple[str, tuple[str, ...]]]


class _Comparer:
    """Walks two schemas side by side; remembers the pairs of nodes being compared.

    A pair met again while it is still being compared (a recursive schema)
    counts as compatible: its differences are reported where it was first met.
    """

    def __init__(self) -> None:
        self.active: set[tuple[int, int]] = set()

    def compare(self, original: Node | None, update: Node | None) -> _Found:
        """Differences from ``original`` to ``update``, with paths relative to them."""
        if original is None and update is None:
            return []
        if original is None:
            return [("SCHEMA_ADDED", ())]
        if update is None:
            return [("SCHEMA_REMOVED", ())]
        original, update = original.resolved(), update.resolved()
        key = (id(original.contents), id(update.contents))
        if key in self.active:
            return []
        self.active.add(key)
        try:
            return self.compare_shapes(shape_of(original), shape_of(update))
        finally:
            self.active.discard(key)

    def compare_parts(self, original: Any, update: Any) -> _Found:
        if isinstance(original, Node) and isinstance(update, Node):
            return self.compare(original, update)
        return self.compare_shapes(as_shape(original), as_shape(update))

    def compare_shapes(self, original: Shape, update: Shape) -> _Found:
        found = self._combined_against_single(original, update)
        if found is not None:
            return found
        if original.kind != update.kind:
            if original.kind == "false" or update.kind == "empty":
                return []
            return [("TYPE_CHANGED", ())]
        found = _annotation_changes(original.keywords, update.keywords)
        rule = self.RULES_BY_KIND.get(original.kind)
        if rule is not None:
            found += rule(self, original, update)
        return found

    def _combined_against_single(self, original: Shape, update: Shape) -> _Found | None:
        """A single schema against a union (or the reverse): match it to one branch."""
        if original.kind != "combined" and update.kind == "combined":
            if len(update.parts) == 1:
                found = self.compare_parts(original, update.parts[0])
                return found if _compatible(found) else None
            if update.criterion in ("anyOf", "oneOf"):
                for branch in update.parts:
                    found = self.compare_parts(original, branch)
                    if _compatible(found):
                        return found + [("SUM_TYPE_EXTENDED", ())]
        elif original.kind == "combined" and update.kind != "combined":
            if len(original.parts) == 1:
                found = self.compare_parts(original.parts[0], update)
                return found if _compatible(found) else None
            if original.criterion == "allOf":
                for part in original.parts:
                    found = self.compare_parts(part, update)
                    if _compatible(found):
                        return found + [("PRODUCT_TYPE_NARROWED", ())]
        return None

    # -- one method per kind --------------------------------------------------

    def _compare_number(self, original: Shape, update: Shape) -> _Found:
        old, new = original.keywords, update.keywords
        found = []
        for word, kind in (("maximum", "MAXIMUM"), ("minimum", "MINIMUM"),
                           ("exclusiveMaximum", "EXCLUSIVE_MAXIMUM"),
                           ("exclusiveMinimum", "EXCLUSIVE_MINIMUM")):
            found += _bound(word, kind, _number(old.get(word)), _number(new.get(word)))
        found += _multiple_of(old.get("multipleOf"), new.get("multipleOf"))
        old_integer, new_integer = old.get("type") == "integer", new.get("type") == "integer"
        if old_integer and not new_integer:
            found.append(("TYPE_EXTENDED", ()))
        elif new_integer and not old_integer:
            found.append(("TYPE_NARROWED", ()))
        return found

    def _compare_string(self, original: Shape, update: Shape) -> _Found:
        old, new = original.keywords, update.keywords
        found = _bound("maxLength", "MAX_LENGTH", old.get("maxLength"), new.get("maxLength"))
        found += _bound("minLength", "MIN_LENGTH", old.get("minLength"), new.get("minLength"))
        if "pattern" not in old and "pattern" in new:
            found.append(("PATTERN_ADDED", ("pattern",)))
        elif "pattern" in old and "pattern" not in new:
            found.append(("PATTERN_REMOVED", ("pattern",)))
        elif old.get("pattern") != new.get("pattern"):
            found.append(("PATTERN_CHANGED", ("pattern",)))
        return found

    def _compare_enum(self, original: Shape, update: Shape) -> _Found:
        old = [_json_key(v) for v in original.keywords["enum"]]
        new = [_json_key(v) for v in update.keywords["enum"]]
        if set(old) == set(new):
            return []
        if set(new) >= set(old):
            return [("ENUM_ARRAY_EXTENDED", ("enum",))]
        if set(old) >= set(new):
            return [("ENUM_ARRAY_NARROWED", ("enum",))]
        return [("ENUM_ARRAY_CHANGED", ("enum",))]

    def _compare_const(self, original: Shape, update: Shape) -> _Found:
        same = _json_key(original.keywords["const"]) == _json_key(update.keywords["const"])
        return [] if same else [("ENUM_ARRAY_CHANGED", ("const",))]

    def _compare_not(self, original: Shape, update: Shape) -> _Found:
        # "not A" accepts more when A accepts less: compare the wrapped schemas reversed.
        reversed_found = self.compare(update.node.child(update.keywords["not"]),
                                      original.node.child(original.keywords["not"]))
        return [("NOT_TYPE_NARROWED" if _compatible(reversed_found) else "NOT_TYPE_EXTENDED", ("not",))]

    def _compare_combined(self, original: Shape, update: Shape) -> _Found:
        found = _criterion_change(original, update)
        if found and found[0][0] == "COMBINED_TYPE_CHANGED":
            return found
        old_parts, new_parts = _distinct(original.parts), _distinct(update.parts)
        if len(old_parts) < len(new_parts):
            found.append(("PRODUCT_TYPE_EXTENDED" if update.criterion == "allOf"
                          else "SUM_TYPE_EXTENDED", ()))
        elif len(old_parts) > len(new_parts):
            found.append(("PRODUCT_TYPE_NARROWED" if original.criterion == "allOf"
                          else "SUM_TYPE_NARROWED", ()))
        edges: dict[tuple[int, int], _Found] = {}
        for i, old_part in enumerate(old_parts):
            for j, new_part in enumerate(new_parts):
                part_found = self.compare_parts(old_part, new_part)
                if _compatible(part_found):
                    edges[(i, j)] = _prefixed((original.criterion, str(i)), part_found)
        matching = _maximum_matching(edges, len(old_parts))
        for edge in matching:
            found += edges[edge]
        if len(matching) < min(len(old_parts), len(new_parts)):
            found.append(("COMBINED_TYPE_SUBSCHEMAS_CHANGED", ()))
        return found

    def _compare_array(self, original: Shape, update: Shape) -> _Found:
        old, new = original.keywords, update.keywords
        old_items, old_tuple, old_extra = _array_parts(old)
        new_items, new_tuple, new_extra = _array_parts(new)
        found = _prefixed(("items",), self.compare(
            _maybe_child(original.node, old_items), _maybe_child(update.node, new_items)))
        found += self._compare_tuple_items(original, update, old_tuple, new_tuple, old_extra, new_extra)
        found += self._compare_extra(original, update, old_extra, new_extra, "ADDITIONAL_ITEMS",
                                     "additionalItems")
        found += self._compare_unevaluated(original, update, "unevaluatedItems", "UNEVALUATED_ITEMS")
        found += _bound("maxItems", "MAX_ITEMS", old.get("maxItems"), new.get("maxItems"))
        found += _bound("minItems", "MIN_ITEMS", old.get("minItems"), new.get("minItems"))
        if bool(old.get("uniqueItems")) != bool(new.get("uniqueItems")):
            found.append(("UNIQUE_ITEMS_REMOVED" if old.get("uniqueItems") else "UNIQUE_ITEMS_ADDED",
                          ("uniqueItems",)))
        found += _bound("maxContains", "MAX_CONTAINS", old.get("maxContains"), new.get("maxContains"))
        found += _bound("minContains", "MIN_CONTAINS", old.get("minContains"), new.get("minContains"))
        return found

    def _compare_tuple_items(self, original, update, old_tuple, new_tuple, old_extra, new_extra) -> _Found:
        found: _Found = []
        for index in range(max(len(old_tuple), len(new_tuple))):
            here = ("items", str(index))
            if index < len(old_tuple) and index < len(new_tuple):
                found += _prefixed(here, self.compare(original.node.child(old_tuple[index]),
                                                      update.node.child(new_tuple[index])))
            elif index < len(old_tuple):
                found += self._content_model_change(
                    here, "ITEM", "REMOVED", original.node.child(old_tuple[index]), update.node, new_extra)
            else:
                found += self._content_model_change(
                    here, "ITEM", "ADDED", update.node.child(new_tuple[index]), original.node, old_extra)
        return found

    def _compare_object(self, original: Shape, update: Shape) -> _Found:
        old, new = original.keywords, update.keywords
        found = _required_changes(original, update)
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name in list(old_props) + [n for n in new_props if n not in old_props]:
            here = ("properties", name)
            if name in old_props and name in new_props:
                found += _prefixed(here, self.compare(original.node.child(old_props[name]),
                                                      update.node.child(new_props[name])))
            elif name in old_props:
                found += self._property_removed(here, original, update, name)
            else:
                found += self._property_added(here, original, update, name)
        found += _dependency_changes(old, new)
        found += self._compare_dependency_schemas(original, update)
        found += self._compare_extra(original, update, old.get("additionalProperties", True),
                                     new.get("additionalProperties", True), "ADDITIONAL_PROPERTIES",
                                     "additionalProperties")
        found += self._compare_unevaluated(original, update, "unevaluatedProperties",
                                           "UNEVALUATED_PROPERTIES")
        found += _bound("maxProperties", "MAX_PROPERTIES", old.get("maxProperties"), new.get("maxProperties"))
        found += _bound("minProperties", "MIN_PROPERTIES", old.get("minProperties"), new.get("minProperties"))
        return found

    def _compare_dependency_schemas(self, original: Shape, update: Shape) -> _Found:
        """Schema dependencies: when property ``name`` is present, the document must match."""
        old, new = _schema_dependencies(original.keywords), _schema_dependencies(update.keywords)
        found: _Found = []
        for name in sorted(old.keys() | new.keys()):
            here = ("dependencies", name)
            if name not in new:
                found.append(("DEPENDENCY_SCHEMA_REMOVED", here))
            elif name not in old:
                found.append(("DEPENDENCY_SCHEMA_ADDED", here))
            else:
                found += _prefixed(here, self.compare(original.node.child(old[name]),
                                                      update.node.child(new[name])))
        return found

    def _property_removed(self, here, original: Shape, update: Shape, name: str) -> _Found:
        """Old documents may carry the property: the update must still accept it."""
        old_schema = original.node.child(original.keywords["properties"][name])
        covering = _covering_schema(update.keywords, name)
        if _is_open(update.keywords):
            return [("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", here)]
        if covering is not None:
            found = self.compare(old_schema, update.node.child(covering))
            verdict = "IS" if _compatible(found) else "NOT"
            return _prefixed(here, found) + [
                (f"PROPERTY_REMOVED_{verdict}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", here)]
        if old_schema.resolved().contents is False:
            return [("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", here)]
        return [("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", here)]

    def _property_added(self, here, original: Shape, update: Shape, name: str) -> _Found:
        """Old documents may already carry a property of that name, unless the model was closed."""
        new_schema = update.node.child(update.keywords["properties"][name]).resolved()
        required = name in update.keywords.get("required", [])
        has_default = isinstance(new_schema.contents, dict) and "default" in new_schema.contents
        if _is_open(original.keywords):
            if shape_of(new_schema).kind == "empty":
                return [("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", here)]
            if required:
                kind = "REQUIRED_PROPERTY_WITH_DEFAULT" if has_default else "REQUIRED_PROPERTY"
                return [(f"{kind}_ADDED_TO_OPEN_CONTENT_MODEL", here)]
            return [("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", here)]
        found: _Found = []
        covering = _covering_schema(original.keywords, name)
        if covering is not None:
            sub = self.compare(original.node.child(covering), new_schema)
            verdict = "IS" if _compatible(sub) else "NOT"
            found += _prefixed(here, sub) + [
                (f"PROPERTY_ADDED_{verdict}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", here)]
        if required:
            kind = "REQUIRED_PROPERTY_WITH_DEFAULT" if has_default else "REQUIRED_PROPERTY"
            return found + [(f"{kind}_ADDED_TO_UNOPEN_CONTENT_MODEL", here)]
        return found + [("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", here)]

    def _content_model_change(self, here, what: str, change: str, item: Node, other: Node,
                              other_extra: Any) -> _Found:
        """A tuple item removed from (or added to) an array schema, judged by its content model."""
        if other_extra is True or other_extra is None:
            if change == "REMOVED":
                return [(f"{what}_REMOVED_FROM_OPEN_CONTENT_MODEL", here)]
            empty = shape_of(item.resolved()).kind == "empty"
            return [(f"{what}_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" if empty
                     else f"{what}_ADDED_TO_OPEN_CONTENT_MODEL", here)]
        if other_extra is False:
            if change == "ADDED":
                return [(f"{what}_ADDED_TO_CLOSED_CONTENT_MODEL", here)]
            if item.resolved().contents is False:
                return [(f"{what}_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", here)]
            return [(f"{what}_REMOVED_FROM_CLOSED_CONTENT_MODEL", here)]
        covering = other.child(other_extra)
        sub = self.compare(item, covering) if change == "REMOVED" else self.compare(covering, item)
        verdict = "IS" if _compatible(sub) else "NOT"
        return _prefixed(here, sub) + [(f"{what}_{change}_{verdict}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", here)]

    def _compare_unevaluated(self, original: Shape, update: Shape, word: str, kind: str) -> _Found:
        """``unevaluatedProperties`` / ``unevaluatedItems`` (2019-09 and later)."""
        old, new = original.keywords.get(word), update.keywords.get(word)
        here = (word,)
        if old is None and new is None:
            return []
        if old is None:
            return [(f"{kind}_REMOVED" if new is False else f"{kind}_NARROWED", here)]
        if new is None:
            return [(f"{kind}_ADDED" if old is False else f"{kind}_EXTENDED", here)]
        if old is False and new is not False:
            return [(f"{kind}_ADDED", here)]
        if old is not False and new is False:
            return [(f"{kind}_REMOVED", here)]
        old_empty = shape_of(original.node.child(old).resolved()).kind == "empty"
        new_empty = shape_of(update.node.child(new).resolved()).kind == "empty"
        if old_empty != new_empty:
            return [(f"{kind}_NARROWED" if old_empty else f"{kind}_EXTENDED", here)]
        return _prefixed(here, self.compare(original.node.child(old), update.node.child(new)))

    def _compare_extra(self, original, update, old_extra, new_extra, kind: str, word: str) -> _Found:
        """``additionalProperties`` / ``additionalItems``: false, true (absent), or a schema."""
        here = (word,)
        old_permits, new_permits = old_extra is not False, new_extra is not False
        if old_permits != new_permits:
            return [(f"{kind}_ADDED" if new_permits else f"{kind}_REMOVED", here)]
        old_schema = old_extra if isinstance(old_extra, dict) else None
        new_schema = new_extra if isinstance(new_extra, dict) else None
        if old_schema is None and new_schema is not None:
            return [(f"{kind}_NARROWED", here)]
        if new_schema is None and old_schema is not None:
            return [(f"{kind}_EXTENDED", here)]
        if old_schema is None:
            return []
        return _prefixed(here, self.compare(original.node.child(old_schema), update.node.child(new_schema)))

    RULES_BY_KIND = {
        "number": _compare_number, "string": _compare_string, "enum": _compare_enum,
        "const": _compare_const, "not": _compare_not, "combined": _compare_combined,
        "array": _compare_array, "object": _compare_object,
    }
    """The rules of each kind of shape; other kinds (null, boolean, ...) have only annotations."""


# --- small rules -------------------------------------------------------------


def _compatible(found: _Found) -> bool:
    return all(kind in COMPATIBLE_CHANGES for kind, _ in found)


def _prefixed(prefix: tuple[str, ...], found: _Found) -> _Found:
    return [(kind, prefix + path) for kind, path in found]


def _annotation_changes(old: dict, new: dict) -> _Found:
    found = []
    for word, kind in (("$id", "ID_CHANGED"), ("title", "TITLE_CHANGED"),
                       ("description", "DESCRIPTION_CHANGED"), ("default", "DEFAULT_CHANGED")):
        if _json_key(old.get(word)) != _json_key(new.get(word)):
            found.append((kind, ()))
    return found


def _bound(word: str, kind: str, old: Any, new: Any) -> _Found:
    """A numeric bound added, removed, increased or decreased."""
    old, new = _number(old), _number(new)
    if old == new:
        return []
    if old is None:
        return [(f"{kind}_ADDED", (word,))]
    if new is None:
        return [(f"{kind}_REMOVED", (word,))]
    return [(f"{kind}_INCREASED" if new > old else f"{kind}_DECREASED", (word,))]


def _number(value: Any) -> float | None:
    # Draft 4 spells exclusive bounds as booleans; only numbers are bounds here.
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _multiple_of(old: Any, new: Any) -> _Found:
    old, new = _number(old), _number(new)
    if old == new:
        return []
    if old is None:
        return [("MULTIPLE_OF_ADDED", ("multipleOf",))]
    if new is None:
        return [("MULTIPLE_OF_REMOVED", ("multipleOf",))]
    if _divides(old, new):
        return [("MULTIPLE_OF_EXPANDED", ("multipleOf",))]
    if _divides(new, old):
        return [("MULTIPLE_OF_REDUCED", ("multipleOf",))]
    return [("MULTIPLE_OF_CHANGED", ("multipleOf",))]


def _divides(divisor: float, value: float) -> bool:
    quotient = value / divisor
    return math.isclose(quotient, round(quotient))


def _required_changes(original: Shape, update: Shape) -> _Found:
    found = []
    old_required = set(original.keywords.get("required", []))
    new_required = set(update.keywords.get("required", []))
    new_props = update.keywords.get("properties", {})
    for name in original.keywords.get("properties", {}):
        if name not in new_props:
            continue
        here = ("required", name)
        if name in old_required and name not in new_required:
            found.append(("REQUIRED_ATTRIBUTE_REMOVED", here))
        elif name in new_required and name not in old_required:
            target = update.node.child(new_props[name]).resolved().contents
            with_default = isinstance(target, dict) and "default" in target
            found.append(("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" if with_default
                          else "REQUIRED_ATTRIBUTE_ADDED", here))
    return found


def _dependency_changes(old: dict, new: dict) -> _Found:
    """Property dependencies (``dependencies``/``dependentRequired`` with lists of names)."""
    found = []
    old_deps, new_deps = _property_dependencies(old), _property_dependencies(new)
    for name in sorted(old_deps.keys() | new_deps.keys()):
        here = ("dependencies", name)
        before, after = old_deps.get(name), new_deps.get(name)
        if after is None:
            found.append(("DEPENDENCY_ARRAY_REMOVED", here))
        elif before is None:
            found.append(("DEPENDENCY_ARRAY_ADDED", here))
        elif before != after:
            kind = ("DEPENDENCY_ARRAY_EXTENDED" if after >= before
                    else "DEPENDENCY_ARRAY_NARROWED" if before >= after else "DEPENDENCY_ARRAY_CHANGED")
            found.append((kind, here))
    return found


def _property_dependencies(schema: dict) -> dict[str, set[str]]:
    deps = {**schema.get("dependencies", {}), **schema.get("dependentRequired", {})}
    return {name: set(value) for name, value in deps.items() if isinstance(value, list)}


def _schema_dependencies(schema: dict) -> dict[str, Any]:
    deps = {**schema.get("dependencies", {}), **schema.get("dependentSchemas", {})}
    return {name: value for name, value in deps.items() if not isinstance(value, list)}


def _is_open(schema: dict) -> bool:
    """Open content model: any extra property passes (no additionalProperties schema or false)."""
    if schema.get("patternProperties"):
        return False
    if "additionalProperties" in schema:
        return schema["additionalProperties"] is True
    unevaluated = schema.get("unevaluatedProperties", True)
    return unevaluated is True or unevaluated == {}


def _covering_schema(schema: dict, name: str) -> Any:
    """The schema a partially open content model applies to a property ``name`` (or None)."""
    for pattern, sub in schema.get("patternProperties", {}).items():
        if re.search(pattern, name):
            return sub
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return extra if isinstance(extra, dict) else None
    unevaluated = schema.get("unevaluatedProperties")
    return unevaluated if isinstance(unevaluated, dict) and unevaluated else None


def _array_parts(schema: dict) -> tuple[Any, list, Any]:
    """(schema of every item, tuple item schemas, schema of items past the tuple)."""
    if "prefixItems" in schema:  # 2020-12: prefixItems is the tuple, items the rest
        return None, list(schema["prefixItems"]), schema.get(
            "items", schema.get("unevaluatedItems", True))
    items = schema.get("items")
    if isinstance(items, list):
        return None, items, schema.get("additionalItems", True)
    return items, [], schema.get("additionalItems", True)


def _maybe_child(node: Node, contents: Any) -> Node | None:
    return None if contents is None else node.child(contents)


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _distinct(parts: Iterable[Any]) -> list[Any]:
    """Branches with the same JSON text count once (Confluent compares sets of branches)."""
    seen, result = set(), []
    for part in parts:
        contents = part.keywords if isinstance(part, Shape) else part.contents
        key = _json_key(contents) if not isinstance(part, Shape) else f"{part.kind}:{id(part)}"
        if key not in seen:
            seen.add(key)
            result.append(part)
    return result


def _criterion_change(original: Shape, update: Shape) -> _Found:
    old, new = original.criterion, update.criterion
    if old == new:
        return []
    old_single, new_single = len(original.parts) == 1, len(update.parts) == 1
    if (new == "anyOf" or (old_single and new_single) or (old_single and new == "oneOf")
            or (new_single and old == "allOf")):
        return [("COMBINED_TYPE_EXTENDED", ())]
    return [("COMBINED_TYPE_CHANGED", ())]


def _maximum_matching(edges: dict[tuple[int, int], Any], left_size: int) -> list[tuple[int, int]]:
    """A maximum matching of old branches to compatible new branches (augmenting paths)."""
    match_of_right: dict[int, int] = {}

    def augment(left: int, visited: set[int]) -> bool:
        for (i, j) in edges:
            if i != left or j in visited:
                continue
            visited.add(j)
            if j not in match_of_right or augment(match_of_right[j], visited):
                match_of_right[j] = left
                return True
        return False

    for left in range(left_size):
        augment(left, set())
    return sorted((i, j) for j, i in match_of_right.items())
