"""Action parameters checked as the Juju controller checks them, before any charm code runs.

Juju turns an action's charmcraft.yaml entry into a JSON schema (draft 4): its `params` are the
object's `properties`, `additionalProperties` is false unless the action says otherwise, and
the other top-level keys (`required`, ...) are copied in. A call that does not validate is
refused with `validation failed: ...`, in the words of github.com/juju/gojsonschema
(`<context> : <description>, given <value as JSON>`, errors joined with "; "); a call that
validates gets the schema's defaults filled in.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

# Keys of an action's entry that are Juju's own, not part of the parameters' schema.
JUJU_ACTION_KEYS = ("description", "params", "parallel", "execution-group")
ROOT_CONTEXT = "(root)"
# gojsonschema checks an object's required properties before its additional ones.
KEYWORD_ORDER = {"required": 0, "additionalProperties": 1}


class ActionParamsError(ValueError):
    """The parameters do not validate; the message is Juju's."""


def action_schema(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema Juju builds for one action of a charm."""
    schema: dict[str, Any] = {
        "type": "object",
        "title": name,
        "description": spec.get("description", "No description"),
        "properties": spec.get("params") or {},
        "additionalProperties": False,
    }
    schema.update({key: value for key, value in spec.items() if key not in JUJU_ACTION_KEYS})
    return schema


def checked_params(name: str, spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the schema's defaults filled in; ActionParamsError if they do not validate."""
    schema = action_schema(name, spec)
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(
        validator.iter_errors(params),
        key=lambda e: (len(e.absolute_path), list(e.absolute_path), KEYWORD_ORDER.get(str(e.validator), 2)),
    )
    # gojsonschema checks nothing else of a value of the wrong type.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    errors = [e for e in errors if e.validator == "type" or tuple(e.absolute_path) not in mistyped]
    # jsonschema reports each missing property on its own but all unknown ones at once: the
    # same text can come twice.
    messages = list(dict.fromkeys(message for error in errors for message in _juju_messages(error)))
    if messages:
        raise ActionParamsError(f"validation failed: {'; '.join(messages)}")
    defaults = {key: prop["default"] for key, prop in schema["properties"].items() if "default" in prop}
    return {**defaults, **params}


def _juju_messages(error: jsonschema.ValidationError) -> list[str]:
    """gojsonschema's wording for one jsonschema error (additionalProperties: one per property)."""
    context = ".".join([ROOT_CONTEXT, *(str(part) for part in error.absolute_path)])
    given = _as_json(error.instance)
    kind, expected = error.validator, error.validator_value
    if kind == "type":
        types = expected if isinstance(expected, str) else f"[{','.join(expected)}]"
        descriptions = [f"must be of type {types}"]
    elif kind == "enum":
        descriptions = [f"must match one of the enum values [{','.join(_as_json(v) for v in expected)}]"]
    elif kind == "required":
        missing = [prop for prop in expected if prop not in error.instance]
        descriptions = [f'"{prop}" property is missing and required' for prop in missing]
    elif kind == "additionalProperties":
        known = error.schema.get("properties") or {}
        descriptions = [f'additional property "{prop}" is not allowed' for prop in error.instance if prop not in known]
    else:
        descriptions = [error.message]  # not used by this bundle's actions; jsonschema's own words
    return [f"{context} : {description}, given {given}" for description in descriptions]


def _as_json(value: Any) -> str:
    """A value as Go's json.Marshal writes it (compact, keys sorted)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
