"""awork's published schemas (OpenAPI 3.0) as JSON Schema validators.

The package carries a copy of `openapi-v1-subset.json` (awork's schemas, prose removed). OpenAPI
3.0 is not JSON Schema, so the schemas are translated on load:

- `nullable: true` becomes `type: [T, "null"]`;
- `format: uuid` is checked (a GUID, 8-4-4-4-12 hex digits), other formats are not;
- `additionalProperties: false` stays: an unknown property is a validation error, as in awork.

(Older copies of the file had lost every property named `description`, `ErrorResponse`'s
required one included; the corrected file carries them, so no schema is patched on load.)
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: object) -> bool:
    return isinstance(value, str) and _GUID.match(value) is not None


class ContractError(ValueError):
    """An instance does not match a schema; `errors` holds awork-style validationErrors."""

    def __init__(self, schema: str, errors: list[dict[str, str]]) -> None:
        super().__init__(
            f"{schema}: " + "; ".join(f"{e['property']}: {e['message']}" for e in errors)
        )
        self.schema = schema
        self.errors = errors


class Contract:
    """Validators for the schemas under `components/schemas`, by name."""

    def __init__(self, document: dict[str, Any]) -> None:
        schemas = {name: _translate(s) for name, s in document["components"]["schemas"].items()}
        self.paths: dict[str, Any] = document.get("paths", {})
        """The published operations by path template (for `conformance`)."""
        self._root = {"components": {"schemas": schemas}}
        self._schemas = schemas
        checker = jsonschema.FormatChecker(formats=())
        checker.checks("uuid")(lambda value: not isinstance(value, str) or is_guid(value))
        self._checker = checker
        self._validators: dict[str, Draft202012Validator] = {}

    def properties(self, name: str) -> set[str]:
        """The property names a schema declares."""
        return set(self._schemas[name].get("properties", {}))

    def errors(self, name: str, instance: object) -> list[dict[str, str]]:
        """awork-style `validationErrors` (`{property, message}`), empty when valid."""
        return self._errors(self._validator(name), instance)

    def check(self, name: str, instance: object) -> None:
        """Raise `ContractError` unless `instance` matches schema `name`."""
        errors = self.errors(name, instance)
        if errors:
            raise ContractError(name, errors)

    def fragment_errors(
        self, key: str, schema: dict[str, Any], instance: object
    ) -> list[dict[str, str]]:
        """Like `errors`, for a schema fragment (a response's `schema`); cached under `key`."""
        if key not in self._validators:
            self._validators[key] = self._compile({**self._root, **_translate(schema)})
        return self._errors(self._validators[key], instance)

    def _validator(self, name: str) -> Draft202012Validator:
        if name not in self._validators:
            schema = {**self._root, "$ref": f"#/components/schemas/{name}"}
            self._validators[name] = self._compile(schema)
        return self._validators[name]

    def _compile(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator(schema, format_checker=self._checker)

    @staticmethod
    def _errors(validator: Draft202012Validator, instance: object) -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        for error in sorted(validator.iter_errors(instance), key=_where):
            for item in _describe(error):
                if item not in found:
                    found.append(item)
        return found


@functools.cache
def load_contract() -> Contract:
    """The contract of the packaged OpenAPI file (loaded once, on first use)."""
    text = resources.files(__package__).joinpath("openapi-v1-subset.json").read_text("utf-8")
    return Contract(json.loads(text))


def _translate(schema: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema 2020-12 (recursively): `nullable` only."""
    if isinstance(schema, list):
        return [_translate(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _translate(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        if "type" in result:
            result["type"] = [result["type"], "null"]
        elif "$ref" in result:
            result = {"anyOf": [{"$ref": result.pop("$ref")}, {"type": "null"}], **result}
    return result


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _where(error: ValidationError) -> str:
    return _path(error.absolute_path)


def _describe(error: ValidationError) -> list[dict[str, str]]:
    """Name the offending property: the unknown or missing one, else the path to the value."""
    base = _path(error.absolute_path)
    instance, schema, expected = error.instance, error.schema, error.validator_value
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {})) if isinstance(schema, dict) else set()
        return [
            {"property": _join(base, key), "message": f"Unknown property '{key}'."}
            for key in instance
            if key not in known
        ]
    if error.validator == "required" and isinstance(instance, dict):
        return [
            {"property": _join(base, key), "message": f"The {key} field is required."}
            for key in (expected if isinstance(expected, list) else [])
            if key not in instance
        ]
    if error.validator == "format":
        return [
            {
                "property": base or "$",
                "message": f"The value is not a valid {error.validator_value}.",
            }
        ]
    return [{"property": base or "$", "message": error.message}]


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key
