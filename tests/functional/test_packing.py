"""Pack both charms with tools/pack-charms and check what went into the .charm files: the
Ubuntu 24.04 ones (build/, CPython 3.12 dependencies) and the lab variants (build/lab/, the same
files with the dependencies built for the lab machines' CPython 3.13).

Slow (about 25 s per changed charm, under a second when tools/pack-charms' cache is warm) and
needs root (apt-get, a private mount namespace), so it carries the `pack` marker:
`pytest -m pack tests/functional`. Where an interpreter a check needs is missing, the check is
listed as not run in the run's summary; the lab's deploys run the lab variants in any case.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.functional.conftest import not_run_here

pytestmark = pytest.mark.pack

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "pack-charms"
CHARMS = ("ovn-central", "ovn-chassis", "ovn-bgp")
CACHE = Path(os.environ.get("OVN_CHARMS_CACHE", "/var/cache/ovn-charms"))
CHARMCRAFT = CACHE / "charmcraft-venv" / "bin" / "charmcraft"
# (Python version, .charm directory) of each variant: Ubuntu 24.04's, and the lab machines'.
VARIANTS = {"ubuntu": ((3, 12), REPO / "build"), "lab": ((3, 13), REPO / "build" / "lab")}
# Runtime imports every charm in the bundle relies on.
RUNTIME_IMPORTS = (
    "import ops, charmed_ovn, cryptography, ovsdbapp, yaml; "
    "from charmlibs.interfaces import tls_certificates; "
    "from charmlibs import apt, systemd; "
    "from ovsdbapp.backend.ovs_idl import connection; "
    "from cryptography.hazmat.primitives.asymmetric import ec; "
    "ec.generate_private_key(ec.SECP384R1())"
)


def _python(version: tuple[int, int]) -> str | None:
    """A CPython of that version to stand in for the target's /usr/bin/python3, if this host has one."""
    name = f"python{version[0]}.{version[1]}"
    pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{version[0]}.{version[1]}.*/bin/{name}"))
    for candidate in (*map(str, pyenv), shutil.which(name)):
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        out = subprocess.run(
            [candidate, "-c", f"import sys; print(sys.version_info[:2] == {version})"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.stdout.strip() == "True":
            return candidate
    return None


@pytest.fixture(scope="module")
def packed() -> dict[str, Path]:
    if os.geteuid() != 0:
        pytest.skip("tools/pack-charms needs root (apt-get, mount namespace)")
    proc = subprocess.run(
        [str(SCRIPT)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"tools/pack-charms exited {proc.returncode}:\n{output[-6000:]}"
    charms = {}
    for name in CHARMS:
        for variant, (_, directory) in VARIANTS.items():
            path = directory / f"{name}_amd64.charm"
            assert path.is_file(), f"{path} missing; output:\n{output[-3000:]}"
            assert str(path) in proc.stdout, "the script prints the packed paths"
            charms[f"{name}/{variant}"] = path
    return charms


def test_packing_again_with_nothing_changed_takes_the_cache(packed: dict[str, Path]):
    proc = subprocess.run([str(SCRIPT)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cached" in proc.stdout and "packing" not in proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", CHARMS)
def test_charm_contents(packed: dict[str, Path], name: str):
    with zipfile.ZipFile(packed[f"{name}/ubuntu"]) as zf:
        names = set(zf.namelist())
        for required in (
            "lib/charmed_ovn/__init__.py",
            "src/charm.py",
            "dispatch",
            "manifest.yaml",
            "metadata.yaml",
            "venv/ops/__init__.py",
        ):
            assert required in names, f"{required} missing from {name}"

        # Built for CPython 3.12: every compiled module is cp312 or the stable ABI.
        compiled = [n for n in names if n.endswith(".so")]
        assert any(n.endswith(".cpython-312-x86_64-linux-gnu.so") for n in compiled), compiled
        wrong = [n for n in compiled if re.search(r"\.cpython-3\d+", n) and "cpython-312" not in n]
        assert not wrong, f"compiled for another Python: {wrong}"
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

        dispatch = zf.read("dispatch").decode()
        assert "PYTHONPATH=lib:venv" in dispatch
        assert dispatch.rstrip().endswith("exec ./src/charm.py")
        for executable in ("dispatch", "src/charm.py"):
            mode = zf.getinfo(executable).external_attr >> 16
            assert mode & stat.S_IXUSR, f"{executable} is not executable in {name}"


@pytest.mark.parametrize("name", CHARMS)
def test_the_lab_variant_differs_only_by_its_venv_built_for_cpython_313(packed: dict[str, Path], name: str):
    with zipfile.ZipFile(packed[f"{name}/ubuntu"]) as ubuntu, zipfile.ZipFile(packed[f"{name}/lab"]) as lab:
        def outside_venv(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
            return {i.filename: i for i in zf.infolist() if not i.filename.startswith("venv/")}

        theirs, ours = outside_venv(ubuntu), outside_venv(lab)
        assert sorted(theirs) == sorted(ours)
        for filename, info in theirs.items():
            assert lab.read(filename) == ubuntu.read(filename), filename
            assert ours[filename].external_attr == info.external_attr, f"{filename}: mode differs"

        def distributions(zf: zipfile.ZipFile) -> set[str]:
            return {n.split("/")[1] for n in zf.namelist() if re.fullmatch(r"venv/[^/]+\.dist-info/METADATA", n)}

        assert distributions(lab) == distributions(ubuntu), "the same dependency versions"
        compiled = [n for n in lab.namelist() if n.endswith(".so")]
        assert any(n.endswith(".cpython-313-x86_64-linux-gnu.so") for n in compiled), compiled
        wrong = [n for n in compiled if re.search(r"\.cpython-3\d+", n) and "cpython-313" not in n]
        assert not wrong, f"compiled for another Python: {wrong}"


@pytest.mark.parametrize("name", CHARMS)
def test_charmcraft_analyse_has_no_errors(packed: dict[str, Path], name: str):
    proc = subprocess.run(
        [str(CHARMCRAFT), "analyse", "--format", "json", str(packed[f"{name}/ubuntu"])],
        capture_output=True,
        text=True,
        check=False,
    )
    checks = json.loads(proc.stdout)
    errors = [c for c in checks if c["result"] in ("error", "errors")]
    assert not errors, errors
    assert proc.returncode in (0, 3), proc.stderr  # 3: warnings only
    results = {c["name"]: c["result"] for c in checks}
    assert results["language"] == "python"
    assert results["framework"] == "operator"
    assert results["entrypoint"] == "ok"
    assert results["ops-main-call"] == "ok"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", CHARMS)
def test_dispatch_runs_on_its_python(
    packed: dict[str, Path], name: str, variant: str, tmp_path: Path, request: pytest.FixtureRequest
):
    """Run the packed dispatch as Juju would on the variant's target (Ubuntu 24.04, or a lab
    machine), with a `python3` of the target's version on PATH.

    The entrypoint is swapped for a probe that imports the real charm module (without running
    ops.main, which would act on this host) and the bundle's runtime dependencies, and checks they
    all come from inside the unpacked charm.
    """
    version, _ = VARIANTS[variant]
    python = _python(version)
    if python is None:
        not_run_here(request, f"no CPython {version[0]}.{version[1]} on this host to run the {variant} .charm's dispatch")
    charm_dir = tmp_path / "charm"
    with zipfile.ZipFile(packed[f"{name}/{variant}"]) as zf:
        zf.extractall(charm_dir)
    for path in ("dispatch", "src/charm.py"):
        (charm_dir / path).chmod(0o755)
    (charm_dir / "src" / "charm.py").rename(charm_dir / "src" / "_packed_charm.py")
    probe = charm_dir / "src" / "charm.py"
    probe.write_text(
        "#!/usr/bin/env python3\n"
        "import os, sys\n"
        f"assert sys.version_info[:2] == {version}, sys.version\n"
        f"{RUNTIME_IMPORTS}\n"
        "import _packed_charm\n"
        "root = os.path.realpath(os.environ['JUJU_CHARM_DIR'])\n"
        "for mod in (ops, charmed_ovn, cryptography, ovsdbapp, yaml, tls_certificates, _packed_charm):\n"
        "    assert os.path.realpath(mod.__file__).startswith(root + os.sep), mod.__file__\n"
        "print('probe ok', os.environ['JUJU_DISPATCH_PATH'])\n"
    )
    probe.chmod(0o755)
    # `python3` on PATH is the target's interpreter without its own site-packages (-S), as on a
    # fresh unit.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").write_text(f'#!/bin/sh\nexec {python} -S "$@"\n')
    (bindir / "python3").chmod(0o755)
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "JUJU_CHARM_DIR": str(charm_dir),
        "JUJU_UNIT_NAME": f"{name}/0",
        "JUJU_MODEL_NAME": "test",
        "JUJU_VERSION": "3.6.0",
        "JUJU_DISPATCH_PATH": "hooks/install",
    }
    proc = subprocess.run(
        ["./dispatch"],
        cwd=charm_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "probe ok hooks/install", proc.stdout
