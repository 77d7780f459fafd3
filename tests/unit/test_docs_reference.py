"""The docs' reference against the charms' metadata, both ways: every config option, action (and
its parameters) and relation endpoint of every `charms/*/charmcraft.yaml` is in the reference,
and the reference (and every `juju config`/`juju run` line of the docs) names nothing else.

The reference pages render charmcraft.yaml at build time (docs/_ext/charm_metadata.py); these
tests read the same files now, so a charm that gains an option, action or endpoint shows up
here, and so does a results entry or a page that names one that does not exist.
"""

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

from charmed_ovn import metrics, observability, paths

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import charm_metadata  # noqa: E402  (docs/_ext is not a package)

CHARMS = charm_metadata.charm_names()
metadata_of = functools.cache(charm_metadata.load)  # each charmcraft.yaml read once, not per case
# Applications in the bundles and the docs, and the charm each one runs.
APPLICATION_CHARMS = {**{charm: charm for charm in CHARMS}, "ovn-gateway": "ovn-chassis"}


def first_column_names(markdown_table: str) -> list[str]:
    """The code-formatted names in a generated table's first column."""
    return re.findall(r"^\| `([^`]+)` \|", markdown_table, flags=re.MULTILINE)


def directive_charms(page: str, directive: str) -> list[str]:
    return re.findall(rf"^```\{{{directive}\}} (\S+)$", (DOCS / page).read_text(), flags=re.MULTILINE)


def documented_actions(charm: str) -> dict[str, list[str]]:
    """action -> the parameters the rendered actions reference lists for it."""
    rendered = charm_metadata.actions_markdown(charm, metadata_of(charm), charm_metadata.load_action_results())
    sections = re.split(rf"^\({re.escape(charm)}-action-([\w-]+)\)=$", rendered, flags=re.MULTILINE)[1:]
    return {
        action: re.findall(r"^- `([^`]+)` \(", body.split("Results:")[0], flags=re.MULTILINE)
        for action, body in zip(sections[::2], sections[1::2], strict=True)
    }


def test_the_charms_are_found():
    assert CHARMS == ["ovn-bgp", "ovn-central", "ovn-chassis"]


@pytest.mark.parametrize(
    ("page", "directive"),
    [
        ("reference/configuration.md", "charm-config"),
        ("reference/actions.md", "charm-actions"),
        ("reference/relations.md", "charm-endpoints"),
    ],
)
def test_each_reference_page_renders_every_charm_and_no_other(page, directive):
    assert sorted(directive_charms(page, directive)) == CHARMS


@pytest.mark.parametrize("charm", CHARMS)
def test_every_config_option_is_in_the_reference_and_nothing_else(charm):
    metadata = metadata_of(charm)
    assert first_column_names(charm_metadata.config_markdown(metadata)) == list(charm_metadata.options(metadata))


@pytest.mark.parametrize("charm", CHARMS)
def test_every_action_and_parameter_is_in_the_reference_and_nothing_else(charm):
    expected = {name: list(action.get("params") or {}) for name, action in charm_metadata.actions(metadata_of(charm)).items()}
    assert documented_actions(charm) == expected


@pytest.mark.parametrize("charm", CHARMS)
def test_every_action_has_its_results_written_and_no_other_action_has(charm):
    results = charm_metadata.load_action_results()
    assert set(results) == set(CHARMS)
    assert sorted(results[charm]) == sorted(charm_metadata.actions(metadata_of(charm)))
    assert all(results[charm].values()), "an action with no results documented"


@pytest.mark.parametrize("charm", CHARMS)
def test_every_endpoint_and_binding_is_in_the_reference_and_nothing_else(charm):
    metadata = metadata_of(charm)
    declared = [name for name, _, _ in charm_metadata.endpoints(metadata)] + list(metadata.get("extra-bindings") or {})
    assert first_column_names(charm_metadata.endpoints_markdown(metadata)) == declared
    assert "cos-agent" in declared  # the observability contract: every charm provides it


def docs_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)


def commands(pattern: str) -> list[tuple[str, re.Match[str]]]:
    return [(path.relative_to(DOCS).as_posix(), match) for path in docs_pages() for match in re.finditer(pattern, path.read_text())]


def test_every_juju_config_in_the_docs_names_a_real_option():
    wrong = []
    for page, match in commands(r"juju config (ovn-[\w-]+)((?: [\w-]+=\S*)+)"):
        charm = APPLICATION_CHARMS.get(match[1])
        known = charm_metadata.options(metadata_of(charm)) if charm else {}
        wrong += [f"{page}: {match[0]}" for key in re.findall(r" ([\w-]+)=", match[2]) if key not in known]
    assert not wrong
    assert commands(r"juju config (ovn-[\w-]+)((?: [\w-]+=\S*)+)"), "the pattern finds nothing: is it still right?"


def test_every_juju_run_in_the_docs_names_a_real_action_and_parameters():
    wrong = []
    for page, match in commands(r"juju run (ovn-[\w-]+)/\S+ ([\w-]+)((?: [\w-]+=\S*)*)"):
        charm = APPLICATION_CHARMS.get(match[1])
        action = charm_metadata.actions(metadata_of(charm)).get(match[2]) if charm else None
        if action is None:
            wrong.append(f"{page}: {match[0]}")
            continue
        wrong += [f"{page}: {match[0]}" for key in re.findall(r" ([\w-]+)=", match[3]) if key not in (action.get("params") or {})]
    assert not wrong


def test_the_ports_reference_lists_every_port_the_charms_use():
    ports_page = (DOCS / "reference" / "ports.md").read_text()
    ports = [paths.NB_PORT, paths.SB_PORT, paths.SB_PRIVILEGED_PORT, paths.NB_RAFT_PORT, paths.SB_RAFT_PORT]
    ports += observability.PORTS.values()
    assert [port for port in ports if f"| {port}/tcp |" not in ports_page] == []


def test_the_observability_page_names_every_metric_family_served_and_no_other():
    page = (DOCS / "how-to" / "observability.md").read_text()
    table = page[page.index("| role | metric families") :].split("\n\n")[0]
    assert sorted(set(re.findall(r"`([a-z_]+)(?:\{[a-z,]+\})?`", table))) == sorted(metrics.METRICS)


@pytest.mark.parametrize("charm", CHARMS)
def test_every_alert_rule_and_dashboard_is_rendered(charm):
    rules = charm_metadata.alert_rules(charm)
    assert rules, "every charm sends alert rules"
    assert first_column_names(charm_metadata.alerts_markdown(rules)) == [rule["alert"] for rule in rules]
    boards = charm_metadata.dashboards(charm)
    assert boards, "every charm sends a dashboard"
    rendered = charm_metadata.dashboards_markdown(boards)
    assert all(f"**{board['title']}**" in rendered for board in boards)
    for page in ("how-to/observability.md",):
        assert charm in directive_charms(page, "charm-alerts")
        assert charm in directive_charms(page, "charm-dashboards")


# What becomes a unit's status: ops' status classes, and the option errors a blocked status shows.
STATUS_CALLS = re.compile(r"(Active|Blocked|Waiting|Maintenance)Status|ConfigError|TableTakenError|OvnTooOldError")


def status_message_fragments() -> list[tuple[str, int, str]]:
    """(file, line, text) for the literal parts of every message the charms and lib set as a
    status; f-string values in between are left out, parts shorter than 8 characters too."""
    fragments = []
    for path in sorted([*REPO.glob("charms/*/src/*.py"), *(REPO / "lib" / "charmed_ovn").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if not STATUS_CALLS.fullmatch(name):
                continue
            message = node.args[0]
            parts = [message] if isinstance(message, ast.Constant) else getattr(message, "values", [])
            for part in parts:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text = part.value.strip(" :;,()'")
                    if len(text) >= 8:
                        fragments.append((path.relative_to(REPO).as_posix(), node.lineno, text))
    return fragments


def test_every_status_message_the_charms_set_is_in_the_status_reference():
    page = (DOCS / "reference" / "status.md").read_text()
    fragments = status_message_fragments()
    assert len(fragments) > 40, "the scan finds the status calls"
    assert [f"{file}:{line}: {text}" for file, line, text in fragments if text not in page] == []
