"""Random Avro schemas and random evolutions: our verdict against real reads.

Hypothesis draws a writer schema, evolves it at random into a reader schema
(fields added or removed, with and without defaults, renamed with aliases,
types promoted or changed, enum symbols added or removed, union branches
added or removed, records nested, recursive records), then draws data for
each schema. fastavro writes data with one schema and reads it back with
the other. Whenever we say the reader can read the writer's data (in
either direction), that read must succeed. Our verdict must also be
Apache Avro's (its own Python implementation of the rules).
"""

import io
import json

import avro.compatibility
import avro.schema
import fastavro
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minikafka.schemas import parse

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
PROMOTIONS = {"int": ["long", "float", "double"], "long": ["float", "double"], "float": ["double"],
              "string": ["bytes"], "bytes": ["string"]}
DEMOTIONS = {"long": ["int"], "float": ["int", "long"], "double": ["int", "long", "float"]}
SYMBOLS = ["A", "B", "C", "D", "E"]
NAMED = ("record", "enum", "fixed")


class Names:
    """Fresh, unique names for the named types of one example, and its rate of change."""

    def __init__(self, rate=10):
        self.count = 0
        self.rate = rate

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"


# --------------------------------------------------------------------------- schemas


@st.composite
def schemas(draw, names, depth=3, record_name=None):
    """A random schema; ``record_name`` is an enclosing record a field may refer back to."""
    kinds = ["primitive"] * 3
    if depth > 0:
        kinds += ["record", "enum", "enum", "enum", "fixed", "array", "map", "union", "union"]
    if record_name:
        kinds.append("self")
    kind = draw(st.sampled_from(kinds))
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "self":  # a recursive reference, made optional so data stays finite
        return ["null", record_name]
    if kind == "record":
        return draw(records(names, depth - 1))
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=2, max_size=4, unique=True))
        enum = {"type": "enum", "name": names.fresh("E"), "symbols": symbols}
        if draw(st.integers(0, 3)) == 0:
            enum["default"] = draw(st.sampled_from(symbols))
        return enum
    if kind == "fixed":
        return {"type": "fixed", "name": names.fresh("F"), "size": draw(st.integers(0, 4))}
    if kind == "array":
        return {"type": "array", "items": draw(schemas(names, depth - 1, record_name))}
    if kind == "map":
        return {"type": "map", "values": draw(schemas(names, depth - 1, record_name))}
    return draw(unions(names, depth - 1))


@st.composite
def records(draw, names, depth):
    name = names.fresh("R")
    count = draw(st.integers(1, 4))
    fields = []
    for index in range(count):
        type_ = draw(schemas(names, depth, record_name=name))
        fields.append(draw(with_default({"name": f"f{index}", "type": type_})))
    return {"type": "record", "name": name, "fields": fields}


@st.composite
def unions(draw, names, depth):
    branches = draw(st.lists(st.sampled_from(PRIMITIVES), min_size=1, max_size=3, unique=True))
    if depth > 0 and draw(st.booleans()):
        branches.append(draw(st.one_of(records(names, depth - 1), st.just(
            {"type": "array", "items": draw(st.sampled_from(PRIMITIVES))}))))
    return branches


@st.composite
def with_default(draw, field):
    """The field, sometimes with a default value valid for its type."""
    if draw(st.booleans()):
        default = default_for(field["type"])
        if default is not NO_DEFAULT:
            field = {**field, "default": default}
    return field


NO_DEFAULT = object()


def default_for(schema):
    """A JSON default for ``schema`` (a union's default is for its first branch)."""
    if isinstance(schema, list):
        return default_for(schema[0])
    if isinstance(schema, str):
        return {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0,
                "bytes": "", "string": ""}.get(schema, NO_DEFAULT)
    kind = schema["type"]
    if kind == "record":
        values = {}
        for field in schema["fields"]:
            value = default_for(field["type"])
            if value is NO_DEFAULT:
                return NO_DEFAULT
            values[field["name"]] = value
        return values
    return {"enum": schema.get("symbols", [None])[0], "fixed": "\u0000" * schema.get("size", 0),
            "array": [], "map": {}}.get(kind, NO_DEFAULT)


# --------------------------------------------------------------------------- evolutions
#
# Each place of the schema changes with probability ``names.rate`` (drawn
# per example, mostly low), so many evolutions carry a single change and a
# wrong rule cannot hide behind another incompatibility.


def mutates(draw, names):
    # sampled_from rather than integers: Hypothesis favours the ends of integer
    # ranges, which would change far more places than the rate says.
    return draw(st.sampled_from([False] * (100 - names.rate) + [True] * names.rate))


@st.composite
def evolutions(draw, schema, names):
    """A random evolution of ``schema``."""
    if isinstance(schema, list):
        return draw(evolve_union(schema, names))
    if isinstance(schema, str):
        return draw(evolve_primitive(schema, names))
    kind = schema["type"]
    if kind in NAMED:
        return draw(evolve_name(draw(evolve_named(schema, names)), names))
    key = "items" if kind == "array" else "values"
    if mutates(draw, names) and draw(st.booleans()):
        return draw(st.sampled_from(PRIMITIVES))
    return {**schema, key: draw(evolutions(schema[key], names))}


@st.composite
def evolve_named(draw, schema, names):
    if schema["type"] == "record":
        return draw(evolve_record(schema, names))
    if schema["type"] == "enum":
        return draw(evolve_enum(schema, names))
    return {**schema, "size": schema["size"] + (1 if mutates(draw, names) else 0)}


@st.composite
def evolve_name(draw, schema, names):
    """Sometimes rename a named type, with or without the old name as an alias."""
    if not mutates(draw, names) or draw(st.booleans()):
        return schema
    old, new = schema["name"], names.fresh("N")
    renamed = rename_references(schema, old, new)
    renamed["name"] = new
    if draw(st.booleans()):
        renamed["aliases"] = [old]
    return renamed


def rename_references(node, old, new):
    """``node`` with every reference to the named type ``old`` (a recursive record's) renamed."""
    if node == old:
        return new
    if isinstance(node, list):
        return [rename_references(item, old, new) for item in node]
    if isinstance(node, dict):
        return {key: value if key in ("name", "aliases") else rename_references(value, old, new)
                for key, value in node.items()}
    return node


@st.composite
def evolve_primitive(draw, schema, names):
    if schema not in PRIMITIVES or not mutates(draw, names):  # named references are kept
        return schema
    choice = draw(st.sampled_from(["promote", "promote", "demote", "other", "union"]))
    if choice == "promote" and schema in PROMOTIONS:
        return draw(st.sampled_from(PROMOTIONS[schema]))
    if choice == "demote" and schema in DEMOTIONS:
        return draw(st.sampled_from(DEMOTIONS[schema]))
    if choice == "union":
        return ["null", schema] if schema != "null" else ["null", "string"]
    return draw(st.sampled_from(PRIMITIVES))


@st.composite
def evolve_union(draw, schema, names):
    branches = [branch if isinstance(branch, str) else draw(evolutions(branch, names)) for branch in schema]
    if mutates(draw, names):
        choice = draw(st.sampled_from(["add", "remove", "reorder", "unwrap"]))
        missing = [p for p in PRIMITIVES if p not in branches]
        if choice == "add" and missing:
            branches.append(draw(st.sampled_from(missing)))
        elif choice == "remove" and len(branches) > 1:
            branches.pop(draw(st.integers(0, len(branches) - 1)))
        elif choice == "reorder":
            branches = draw(st.permutations(branches))
        elif choice == "unwrap":
            return draw(st.sampled_from(branches))
    return _dedupe(branches)


def _dedupe(branches):
    """Keep a union legal: no nested unions, one branch per type or name."""
    seen, result = set(), []
    for branch in branches:
        for item in (branch if isinstance(branch, list) else [branch]):
            key = item if isinstance(item, str) else item.get("name", item["type"])
            if key not in seen:
                seen.add(key)
                result.append(item)
    return result


@st.composite
def evolve_record(draw, schema, names):
    fields = [draw(evolve_field(field, names)) for field in schema["fields"]]
    fields = [field for field in fields if field is not None]
    if mutates(draw, names):  # a new field
        type_ = draw(schemas(names, 1))
        fields.append(draw(with_default({"name": names.fresh("added"), "type": type_})))
    if mutates(draw, names):
        fields = draw(st.permutations(fields))
    return {**schema, "fields": fields}


@st.composite
def evolve_field(draw, field, names):
    """The field evolved, or None when it is removed."""
    new_type = draw(evolutions(field["type"], names))
    if isinstance(new_type, list):
        new_type = _dedupe(new_type)
    new_field = {key: value for key, value in field.items() if key != "default"}
    new_field["type"] = new_type
    if "default" in field and new_type == field["type"]:
        new_field["default"] = field["default"]
    if not mutates(draw, names):
        return new_field
    choice = draw(st.sampled_from(["remove", "drop default", "add default", "rename", "rename with alias"]))
    if choice == "remove":
        return None
    if choice == "drop default":
        new_field.pop("default", None)
    elif choice == "add default":
        new_field = draw(with_default(new_field))
    elif choice == "rename":
        new_field["name"] = field["name"] + "_renamed"
    else:
        new_field.update(name=field["name"] + "_renamed", aliases=[field["name"]])
    return new_field


@st.composite
def evolve_enum(draw, schema, names):
    symbols = list(schema["symbols"])
    result = dict(schema)
    if mutates(draw, names) or draw(st.sampled_from([False, False, True])):  # enums change more often
        choice = draw(st.sampled_from(["add", "remove", "default", "no default"]))
        extra = [s for s in SYMBOLS if s not in symbols]
        if choice == "add" and extra:
            symbols.append(draw(st.sampled_from(extra)))
        elif choice == "remove" and len(symbols) > 1:
            symbols.pop(draw(st.integers(0, len(symbols) - 1)))
        elif choice == "default":
            result["default"] = draw(st.sampled_from(symbols))
        else:
            result.pop("default", None)
    result["symbols"] = symbols
    if result.get("default") not in (None, *symbols):
        del result["default"]
    return result


# --------------------------------------------------------------------------- data


@st.composite
def data_for(draw, schema, named, depth=0):
    """A datum for ``schema``; unions use fastavro's ``(branch name, value)`` notation."""
    if isinstance(schema, list):
        allowed = [b for b in schema if not (depth > 3 and b != "null")] or schema
        branch = draw(st.sampled_from(allowed))
        name = branch if isinstance(branch, str) else branch.get("name", branch["type"])
        return (name, draw(data_for(branch, named, depth + 1)))
    if isinstance(schema, str):
        if schema in named:
            return draw(data_for(named[schema], named, depth + 1))
        return draw(PRIMITIVE_DATA[schema])
    kind = schema["type"]
    if kind == "record":
        named.setdefault(schema["name"], schema)
        return {f["name"]: draw(data_for(f["type"], named, depth + 1)) for f in schema["fields"]}
    if kind == "enum":
        named.setdefault(schema["name"], schema)
        return draw(st.sampled_from(schema["symbols"]))
    if kind == "fixed":
        named.setdefault(schema["name"], schema)
        return draw(st.binary(min_size=schema["size"], max_size=schema["size"]))
    items = schema["items"] if kind == "array" else schema["values"]
    values = draw(st.lists(data_for(items, named, depth + 1), max_size=0 if depth > 3 else 2))
    return values if kind == "array" else {f"k{i}": v for i, v in enumerate(values)}


PRIMITIVE_DATA = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    # Avro promotes bytes to string: such bytes hold UTF-8 text, or no reader could decode them.
    "bytes": st.text(max_size=4).map(str.encode),
    "string": st.text(max_size=4),
}


# --------------------------------------------------------------------------- the properties


@st.composite
def examples(draw):
    names = Names(rate=draw(st.sampled_from([5, 10, 10, 20, 40])))
    writer = draw(records(names, depth=2))
    reader = draw(evolutions(writer, names))
    return writer, reader, draw(data_for(writer, {})), draw(data_for(reader, {}))


def ours_can_read(reader, writer):
    reader_schema = parse("AVRO", json.dumps(reader), {})
    writer_schema = parse("AVRO", json.dumps(writer), {})
    return reader_schema.backward_errors(writer_schema) == []


def apache_avro_can_read(reader, writer):
    result = avro.compatibility.ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible


def write_then_read(writer, reader, datum):
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), datum)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_our_verdicts_hold_when_data_is_read(example):
    writer, reader, old_datum, new_datum = example
    backward = ours_can_read(reader, writer)  # the new schema reads old data
    if backward:
        write_then_read(writer, reader, old_datum)  # must not raise
    forward = ours_can_read(writer, reader)  # the old schema reads new data
    if forward:
        write_then_read(reader, writer, new_datum)
    assert backward is apache_avro_can_read(reader, writer)
    assert forward is apache_avro_can_read(writer, reader)


def test_the_generator_finds_both_verdicts():
    """Guard against a generator that only ever produces compatible (or incompatible) pairs."""
    verdicts = set()

    @settings(max_examples=40, deadline=None, database=None)
    @given(examples())
    def collect(example):
        writer, reader, _, _ = example
        verdicts.add(ours_can_read(reader, writer))

    collect()
    assert verdicts == {True, False}



@st.composite
def enum_pairs(draw):
    """Two versions of one enum field, and a symbol written with the first."""
    def enum():
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=5, unique=True))
        schema = {"type": "enum", "name": "Suit", "symbols": symbols}
        if draw(st.booleans()):
            schema["default"] = draw(st.sampled_from(symbols))
        return {"type": "record", "name": "Card", "fields": [{"name": "suit", "type": schema}]}

    writer, reader = enum(), enum()
    return writer, reader, {"suit": draw(st.sampled_from(writer["fields"][0]["type"]["symbols"]))}


@settings(max_examples=100, deadline=None)
@given(enum_pairs())
def test_enum_symbols_and_defaults(example):
    writer, reader, datum = example
    backward = ours_can_read(reader, writer)
    if backward:
        write_then_read(writer, reader, datum)  # must not raise
    assert backward is apache_avro_can_read(reader, writer)
