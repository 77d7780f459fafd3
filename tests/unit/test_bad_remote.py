"""tests/charms/bad-remote: its metadata as the lab reads it, its archive as the lab assembles
it, and the garbage it writes (with ops.testing)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from ops import testing

from tests.charm_unit import load_charm_module
from tests.lab import charm_archive

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "charms" / "bad-remote"
garbage = load_charm_module("garbage", SOURCE / "src" / "garbage.py")  # as charm.py imports it from src/
charm = load_charm_module("bad_remote_charm", SOURCE / "src" / "charm.py")


def metadata() -> dict:
    return yaml.safe_load((SOURCE / "charmcraft.yaml").read_text())


def test_it_requires_what_ovn_central_provides_under_the_same_names():
    central = yaml.safe_load((REPO / "charms" / "ovn-central" / "charmcraft.yaml").read_text())
    required = metadata()["requires"]
    assert set(required) == {"certificates", "ovsdb"}
    for endpoint, spec in required.items():
        assert spec["interface"] == central["provides"][endpoint]["interface"]


def test_its_option_names_every_kind_of_garbage():
    option = metadata()["config"]["options"]["garbage"]
    assert (option["type"], option["default"]) == ("string", "none")
    assert all(f"`{kind}`" in option["description"] for kind in garbage.KINDS)


def test_the_lab_assembles_it_with_the_packed_runtime(monkeypatch, tmp_path):
    runtime = io.BytesIO()
    with zipfile.ZipFile(runtime, "w") as packed:  # what a packed ovn-central holds, in short
        for name in ("dispatch", "manifest.yaml", "venv/ops/__init__.py", "src/charm.py", "metadata.yaml"):
            packed.writestr(name, f"ovn-central's {name}")
    monkeypatch.setattr(charm_archive, "packed_lab_charm", lambda name: runtime.getvalue())

    archive = tmp_path / "bad-remote.charm"
    archive.write_bytes(charm_archive.assemble_test_charm(SOURCE))

    with zipfile.ZipFile(archive) as assembled:
        names = set(assembled.namelist())
        assert assembled.read("src/charm.py") == (SOURCE / "src" / "charm.py").read_bytes()
    assert {"dispatch", "manifest.yaml", "venv/ops/__init__.py", "src/garbage.py", "config.yaml"} <= names
    meta = charm_archive.metadata(archive)
    assert meta["name"] == "bad-remote"
    assert set(meta["requires"]) == {"certificates", "ovsdb"}
    assert meta["config"]["options"]["garbage"]["default"] == "none"


class TestBadRemoteCharm:
    @pytest.fixture(autouse=True)
    def context(self):
        self.ctx = testing.Context(charm.BadRemoteCharm)

    def state(self, kind: str, **databags: dict[str, str]) -> testing.State:
        relations = {
            testing.Relation("certificates", remote_app_name="ovn-central", local_unit_data=databags.get("certificates", {})),
            testing.Relation("ovsdb", remote_app_name="ovn-central", local_unit_data=databags.get("ovsdb", {})),
        }
        return testing.State(leader=True, config={"garbage": kind}, relations=relations)

    def databag(self, state: testing.State, endpoint: str, which: str = "local_unit_data") -> dict[str, str]:
        [relation] = [r for r in state.relations if r.endpoint == endpoint]
        return {k: v for k, v in getattr(relation, which).items() if k not in ("egress-subnets", "ingress-address", "private-address")}

    @pytest.mark.parametrize("kind", garbage.KINDS)
    def test_given_a_kind_when_any_hook_runs_then_it_is_in_the_unit_and_app_databags(self, kind):
        out = self.ctx.run(self.ctx.on.update_status(), self.state(kind))

        for endpoint, wanted in (("certificates", garbage.certificates_databag(kind)), ("ovsdb", garbage.ovsdb_databag(kind))):
            assert self.databag(out, endpoint) == wanted
            assert self.databag(out, endpoint, "local_app_data") == wanted
        assert out.unit_status == testing.ActiveStatus("writing no garbage" if kind == "none" else f"writing {kind} garbage")

    def test_given_garbage_written_when_none_then_its_keys_are_removed_and_others_left(self):
        written = self.ctx.run(self.ctx.on.config_changed(), self.state("wrong-keys"))
        [certificates] = [r for r in written.relations if r.endpoint == "certificates"]
        assert self.databag(written, "certificates")

        out = self.ctx.run(self.ctx.on.config_changed(), self.state("none", certificates={**certificates.local_unit_data, "other": "kept"}))

        assert self.databag(out, "certificates") == {"other": "kept"}

    def test_the_same_kind_is_the_same_garbage_on_every_hook(self):
        first = self.ctx.run(self.ctx.on.update_status(), self.state("csr-forged"))
        second = self.ctx.run(self.ctx.on.update_status(), self.state("csr-forged"))

        assert self.databag(first, "certificates") == self.databag(second, "certificates")
        assert json.loads(self.databag(first, "certificates")[garbage.REQUESTS])[0]["ca"] is False

    def test_given_an_unknown_kind_when_config_changed_then_blocked_listing_the_kinds(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.state("everything"))

        assert out.unit_status == testing.BlockedStatus(f"garbage must be one of {', '.join(garbage.KINDS)}")
        assert self.databag(out, "certificates") == {}
