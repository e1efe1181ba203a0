"""A small validator for the JSON-Schema subset that the result.json schema uses (result_record.record_schema).

Supported keywords: type (string or list), required, properties, additionalProperties (schema or false),
items, enum, const, minimum, maximum, minLength, pattern, anyOf (valid when one branch has no violation; else
the violations of the branch with the fewest) and $ref to "#/$defs/NAME". Every violation is collected, none
stops the walk.
Numbers must be finite (NaN and +-inf are violations wherever they appear); booleans are not numbers.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ackd_bench.result_record import SCHEMA_VERSION, record_schema

KNOWN_SCHEMA_VERSIONS = (SCHEMA_VERSION,)


@lru_cache(maxsize=1)
def load_schema() -> dict:
    """The result.json schema, generated from ackd_bench/result_record.py (result.schema.json is its copy)."""
    return record_schema()


def _type_ok(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError(f"schema uses unknown type {name!r}")


def _walk(value: Any, schema: dict, where: str, out: list[str], root: dict) -> None:
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/") or ref[len("#/$defs/") :] not in root.get("$defs", {}):
            raise ValueError(f"schema uses an unsupported or unknown $ref {ref!r}")
        schema = root["$defs"][ref[len("#/$defs/") :]]
    if "anyOf" in schema:
        tries = []
        for branch in schema["anyOf"]:
            found: list[str] = []
            _walk(value, branch, where, found, root)
            if not found:
                return
            tries.append(found)
        out.extend(min(tries, key=len))
        return
    if isinstance(value, float) and not math.isfinite(value):
        out.append(f"{where}: {value} is not a finite number")
        return
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: must be {schema['const']!r}, got {value!r}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, n) for n in names):
            out.append(f"{where}: expected {' or '.join(names)}, got {type(value).__name__}")
            return
    if _type_ok(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: empty string")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, schema.get("items", {}), f"{where}[{i}]", out, root)
    if isinstance(value, dict):
        _walk_object(value, schema, where, out, root)


def _walk_object(value: dict, schema: dict, where: str, out: list[str], root: dict) -> None:
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key in schema.get("required", []):
        if key not in value:
            out.append(f"{_join(where, key)}: required key missing")
    for key in sorted(value, key=str):
        sub = _join(where, key)
        if key in props:
            _walk(value[key], props[key], sub, out, root)
        elif extra is False:
            out.append(f"{sub}: unknown key")
        elif isinstance(extra, dict):
            _walk(value[key], extra, sub, out, root)
        else:
            _walk(value[key], {}, sub, out, root)  # still checks NaN/inf deep inside free-form objects


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else str(key)


def schema_violations(record: Any, schema: dict | None = None) -> list[str]:
    """Every way `record` breaks the result schema, as one-line messages (empty list = valid)."""
    if not isinstance(record, dict):
        return [f"result.json: expected a JSON object, got {type(record).__name__}"]
    version = record.get("schema_version")
    if version not in KNOWN_SCHEMA_VERSIONS or isinstance(version, bool):
        return [f"schema_version: unknown schema_version {version!r} (known: {list(KNOWN_SCHEMA_VERSIONS)})"]
    out: list[str] = []
    schema = schema or load_schema()
    _walk(record, schema, "", out, schema)
    return out
