"""The lab runs what the .charm holds, nothing else: a charm packed without one of its
dependencies fails its first hook in the lab, as it would on a Juju machine. (Every other lab
test proves the complete .charm works.)"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.functional.conftest import lab_leftovers, model_name
from tests.lab import charm_archive, model

pytestmark = pytest.mark.lab
MODEL = "nomodule"
MISSING = "venv/tenacity/"


def without(archive: bytes, prefix: str) -> bytes:
    """The .charm with every entry under `prefix` left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as charm, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        kept = [info for info in charm.infolist() if not info.filename.startswith(prefix)]
        assert len(kept) < len(charm.infolist()), f"the packed charm has no {prefix}"
        for info in kept:
            out.writestr(info, charm.read(info))
    return buffer.getvalue()


@pytest.fixture
def crippled_deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[model.Model]:
    crippled = charm_archive.store("ovn-chassis", without(charm_archive.packed_lab_charm("ovn-chassis"), MISSING))
    monkeypatch.setattr(model, "resolve_charm", lambda bundle_dir, charm: crippled)
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(yaml.safe_dump({
        "machines": {"0": {}},
        "applications": {"ovn-chassis": {"charm": "../build/ovn-chassis_amd64.charm", "num_units": 1, "to": ["0"]}},
    }))
    name = model_name(MODEL)
    try:
        with model.open_model(name, create=True) as lab_model:
            lab_model.deploy(bundle)
            yield lab_model
    finally:
        with model.open_model(name) as lab_model:
            lab_model.destroy()
        assert lab_leftovers(name) == []


def test_a_module_missing_from_the_charm_fails_the_install_hook(crippled_deploy: model.Model):
    crippled_deploy.run_hooks(log=lambda line: None)
    unit = crippled_deploy.units["ovn-chassis/0"]
    assert unit["status"] == {"name": "error", "message": 'hook failed: "install"'}
    assert "No module named 'tenacity'" in unit["error"]
