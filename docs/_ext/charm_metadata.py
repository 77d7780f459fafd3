"""The charms' metadata (every `charms/*/charmcraft.yaml`) as the reference pages show it.

Pure functions from the YAML to Markdown: the `charm_reference` Sphinx extension renders them at
build time, and tests/unit/test_docs_reference.py checks them against the same files, so the
reference can neither miss nor invent an option, action, parameter or endpoint.
"""

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[1]
CHARMS = DOCS.parent / "charms"
# What each action returns: charmcraft.yaml has no place for results, so they are written here.
ACTION_RESULTS = DOCS / "reference" / "action-results.yaml"
ENDPOINT_ROLES = ("provides", "requires", "peers")


def charm_names() -> list[str]:
    return sorted(path.parent.name for path in CHARMS.glob("*/charmcraft.yaml"))


def load(charm: str) -> dict[str, Any]:
    return yaml.safe_load((CHARMS / charm / "charmcraft.yaml").read_text())


def load_action_results() -> dict[str, dict[str, dict[str, str]]]:
    """charm -> action -> result key -> what it holds."""
    return yaml.safe_load(ACTION_RESULTS.read_text())


def alert_rules(charm: str) -> list[dict[str, Any]]:
    """The Prometheus alert rules the charm sends over cos-agent (`src/prometheus_alert_rules`)."""
    rules = []
    for path in sorted((CHARMS / charm / "src" / "prometheus_alert_rules").glob("*.rules")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            rules += [rule for rule in group.get("rules", []) if "alert" in rule]
    return rules


def dashboards(charm: str) -> list[dict[str, Any]]:
    """The Grafana dashboards the charm sends over cos-agent (`src/grafana_dashboards`)."""
    return [json.loads(path.read_text()) for path in sorted((CHARMS / charm / "src" / "grafana_dashboards").glob("*.json"))]


def options(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((metadata.get("config") or {}).get("options") or {})


def actions(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(metadata.get("actions") or {})


def endpoints(metadata: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(endpoint, role, its declaration) for every relation endpoint the charm declares."""
    for role in ENDPOINT_ROLES:
        for name, declaration in (metadata.get(role) or {}).items():
            yield name, role, declaration


# --- Markdown --------------------------------------------------------------------------------


def cell(text: object) -> str:
    """One table cell or list item: a description's lines joined, its pipes escaped (GFM tables
    split on them), and outside code its `<` too (Markdown would read `<name>` as HTML)."""
    parts = " ".join(str(text).split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "\\<") for i, part in enumerate(parts))


def code(value: object) -> str:
    """A value as inline code; YAML's spelling for booleans and the empty string."""
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value)
    return "`" + text.replace("|", "\\|") + "`" if text else '`""`'


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def config_markdown(metadata: Mapping[str, Any]) -> str:
    rows = [
        [code(name), option["type"], code(option["default"]) if "default" in option else "(unset)", cell(option.get("description", ""))]
        for name, option in options(metadata).items()
    ]
    return table(["option", "type", "default", "description"], rows)


def parameter_markdown(name: str, parameter: Mapping[str, Any], required: list[str]) -> str:
    facts = [parameter.get("type", "any")]
    if "enum" in parameter:
        facts.append("one of " + ", ".join(code(value) for value in parameter["enum"]))
    if "default" in parameter:
        facts.append("default " + code(parameter["default"]))
    if name in required:
        facts.append("required")
    description = cell(parameter.get("description", ""))
    return f"{code(name)} ({'; '.join(facts)})" + (f": {description}" if description else "")


def actions_markdown(charm: str, metadata: Mapping[str, Any], results: Mapping[str, Mapping[str, Mapping[str, str]]]) -> str:
    """One section per action: what it does, its parameters, its results."""
    sections = []
    for name, action in actions(metadata).items():
        lines = [f"({charm}-action-{name})=", f"**`{name}`**: " + " ".join(action.get("description", "").split()), ""]
        params = action.get("params") or {}
        required = list(action.get("required") or [])
        lines.append("Parameters:" if params else "Parameters: none.")
        lines += [f"- {parameter_markdown(p, spec, required)}" for p, spec in params.items()]
        lines += ["", "Results:"]
        lines += [f"- {code(key)}: {cell(text)}" for key, text in results.get(charm, {}).get(name, {}).items()]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def endpoint_facts(declaration: Mapping[str, Any]) -> str:
    facts = [f"{key} {declaration[key]}" for key in ("scope", "limit") if key in declaration]
    if declaration.get("optional"):
        facts.append("optional")
    return ", ".join(facts)


def endpoints_markdown(metadata: Mapping[str, Any]) -> str:
    rows = [
        [code(name), role, code(declaration["interface"]), endpoint_facts(declaration), cell(declaration.get("description", ""))]
        for name, role, declaration in endpoints(metadata)
    ]
    # Extra bindings: spaces a unit uses for something other than a relation.
    rows += [[code(name), "extra binding", "", "", ""] for name in metadata.get("extra-bindings") or {}]
    return table(["endpoint", "role", "interface", "limits", "what it carries"], rows)


def untemplated(text: str) -> str:
    """An alert annotation without Prometheus templating: `{{ $labels.database }}` reads `<database>`."""
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", r"<\1>", text)
    return re.sub(r"\{\{[^}]*\}\}", "<value>", text)


def alerts_markdown(rules: list[dict[str, Any]]) -> str:
    rows = [
        [
            code(rule["alert"]),
            cell((rule.get("labels") or {}).get("severity", "")),
            cell(rule.get("for", "")),
            cell(untemplated((rule.get("annotations") or {}).get("description", ""))),
        ]
        for rule in rules
    ]
    return table(["alert", "severity", "for", "meaning"], rows)


def dashboards_markdown(boards: list[dict[str, Any]]) -> str:
    """Each dashboard's title and its rows, with the panels of each row."""
    lines = []
    for board in boards:
        lines += [f"**{cell(board.get('title', ''))}**", ""]
        rows: list[tuple[str, list[str]]] = []
        for panel in board.get("panels", []):
            if panel.get("type") == "row" or not rows:
                rows.append((panel.get("title", "") if panel.get("type") == "row" else "", []))
            # a collapsed row holds its panels itself
            inner = panel.get("panels", []) if panel.get("type") == "row" else [panel]
            rows[-1][1].extend(cell(inner_panel.get("title", "")) for inner_panel in inner)
        lines += [f"- {cell(row)}: " + ", ".join(panels) for row, panels in rows]
        lines.append("")
    return "\n".join(lines)


def summary_markdown(metadata: Mapping[str, Any]) -> str:
    kind = "subordinate charm" if metadata.get("subordinate") else "machine charm"
    return f"{metadata.get('summary', '')} A {kind} on {metadata.get('base', 'any base')}."
