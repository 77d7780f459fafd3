"""Sphinx directives that render a charm's charmcraft.yaml into the reference pages at build time:

    ```{charm-config} ovn-central
    ```

and likewise `charm-actions`, `charm-endpoints`, `charm-summary`, `charm-alerts`, `charm-dashboards`. The Markdown comes from
charm_metadata; it is parsed as if it were written in the page.
"""

from collections.abc import Callable
from typing import Any

import charm_metadata
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def render(kind: str, charm: str) -> str:
    metadata = charm_metadata.load(charm)
    renderers: dict[str, Callable[[], str]] = {
        "config": lambda: charm_metadata.config_markdown(metadata),
        "actions": lambda: charm_metadata.actions_markdown(charm, metadata, charm_metadata.load_action_results()),
        "endpoints": lambda: charm_metadata.endpoints_markdown(metadata),
        "summary": lambda: charm_metadata.summary_markdown(metadata),
        "alerts": lambda: charm_metadata.alerts_markdown(charm_metadata.alert_rules(charm)),
        "dashboards": lambda: charm_metadata.dashboards_markdown(charm_metadata.dashboards(charm)),
    }
    return renderers[kind]()


class CharmDirective(SphinxDirective):
    required_arguments = 1
    kind = ""

    def run(self) -> list[nodes.Node]:
        charm = self.arguments[0]
        if charm not in charm_metadata.charm_names():
            raise self.error(f"no charms/{charm}/charmcraft.yaml")
        # Rebuild the page whenever the charm's metadata or the results file changes.
        self.env.note_dependency(str(charm_metadata.CHARMS / charm / "charmcraft.yaml"))
        self.env.note_dependency(str(charm_metadata.ACTION_RESULTS))
        for pattern in ("prometheus_alert_rules/*.rules", "grafana_dashboards/*.json"):
            for path in (charm_metadata.CHARMS / charm / "src").glob(pattern):
                self.env.note_dependency(str(path))
        container = nodes.container()
        self.state.nested_parse(StringList(render(self.kind, charm).splitlines(), self.get_source_info()[0]), self.content_offset, container)
        return container.children


def directive(kind: str) -> type[CharmDirective]:
    return type(f"Charm{kind.title()}Directive", (CharmDirective,), {"kind": kind})


def setup(app: Sphinx) -> dict[str, Any]:
    for kind in ("config", "actions", "endpoints", "summary", "alerts", "dashboards"):
        app.add_directive(f"charm-{kind}", directive(kind))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
