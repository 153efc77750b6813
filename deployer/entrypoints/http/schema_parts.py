"""Building blocks of the OpenAPI component schemas (``schemas.py``, ``deployment_schema.py``)."""

from __future__ import annotations

from typing import Any

STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or ``null``."""
    return {"oneOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    """A closed object (no other properties) with ``required`` members."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema
