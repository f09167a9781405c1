"""DynamoDB item sizes and write units, from items in the low-level (typed) JSON form.

Sizing rules from the DynamoDB Developer Guide ("Item sizes and formats"): an attribute costs
its name's UTF-8 length plus its value: strings their UTF-8 length, binary their length,
numbers about one byte per two significant digits plus one, booleans and null one byte, lists
and maps 3 bytes plus one byte per element plus their elements (map keys count like names).
On-demand writes cost one write request unit per started 1 KB of the item; a write to the base
table also writes every global secondary index whose keys the item has, sized by the index's
projection (index keys, table key, projected attributes).
"""

from __future__ import annotations

import math
from typing import Any

WRITE_UNIT_BYTES = 1024


def value_size(value: dict[str, Any]) -> int:
    """Size of one typed value (`{"S": ...}`, `{"N": ...}`, `{"M": {...}}`, ...)."""
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "B":
        return len(data)
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + value_size(item) for name, item in data.items())
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: item}) for item in data)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def index_projection(item: dict[str, Any], table_keys: list[str], index: dict[str, Any]) -> dict[str, Any] | None:
    """The index entry the item produces, or None when it lacks the index's keys (sparse)."""
    index_keys = [key["AttributeName"] for key in index["KeySchema"]]
    if any(key not in item for key in index_keys):
        return None
    projection = index["Projection"]
    if projection["ProjectionType"] == "ALL":
        return dict(item)
    wanted = set(index_keys) | set(table_keys)
    if projection["ProjectionType"] == "INCLUDE":
        wanted |= set(projection.get("NonKeyAttributes", []))
    return {name: value for name, value in item.items() if name in wanted}


def item_write_units(item: dict[str, Any], table_definition: dict[str, Any]) -> dict[str, Any]:
    """Size and write units of putting `item` into a table defined by a CreateTable request."""
    table_keys = [key["AttributeName"] for key in table_definition["KeySchema"]]
    size = item_size(item)
    indexes = {}
    for index in table_definition.get("GlobalSecondaryIndexes", []):
        entry = index_projection(item, table_keys, index)
        if entry is not None:
            entry_size = item_size(entry)
            indexes[index["IndexName"]] = {"bytes": entry_size, "wru": write_units(entry_size)}
    return {
        "bytes": size,
        "wru": write_units(size),
        "indexes": indexes,
        "wru_total": write_units(size) + sum(index["wru"] for index in indexes.values()),
    }
