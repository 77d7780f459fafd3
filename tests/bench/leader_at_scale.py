"""Leader at scale (issue 14, item 3): the ovn-central leader's hook when one more chassis joins a
`certificates` relation that already has N units, all signed.

The real charm runs under ops.testing on the in-memory machine of its unit tests
(charms/ovn-central/tests/unit/fake_machine.py); the CSRs are real (the chassis' own requests,
one key each) and the charm's CA really signs. The N settled units' certificates are in the
provider's app databag, as the tls-certificates library writes them; the timed hook is the
relation-changed of the N+1-th unit, whose CSRs are new. Baseline: one `pki.sign` of a chassis
CSR, the function the charm signs with. The hook should sign the new unit's CSRs only.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import socket
import subprocess
import sys
import tempfile
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.bench import report, timing
from tests.bench.registry import Options

REPOSITORY = Path(__file__).resolve().parents[2]
CHARM_DIR = REPOSITORY / "charms" / "ovn-central"
SIZES = (10, 100, 300, 1000)
GOAL_SIZE, GOAL_S = 300, 1.0
REQUIRER = "ovn-chassis"

# the charm, lib/ and the repository, as the charm's unit tests have them (their conftest.py)
sys.path[:0] = [str(CHARM_DIR / "src"), str(REPOSITORY / "lib"), str(REPOSITORY)]

from charmlibs.interfaces.tls_certificates import Certificate, CertificateSigningRequest  # noqa: E402
from ops import testing  # noqa: E402

from charmed_ovn import paths, pki  # noqa: E402
from tests.charm_unit import register_package  # noqa: E402


def charm_unit_tests() -> types.ModuleType:
    """The ovn-central unit tests' fake machine and state builders (it loads the charm)."""
    register_package("ovn_central_unit_tests", CHARM_DIR / "tests" / "unit", None)
    return importlib.import_module("ovn_central_unit_tests.fake_machine")


fake = charm_unit_tests()


def _no_commands(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"the benchmark's hook tried to run a command on this machine: {args!r}")


@contextmanager
def leader_machine(state_dir: Path) -> Iterator[list[int]]:
    """The settled leader's machine as the unit tests fake it (what their `machine`, `state_dir`,
    `hostname`, `clock` and `machine_guard` fixtures do); yields the count of `pki.sign` calls."""
    signed = [0]
    real_sign = pki.sign

    def counted_sign(*args, **kwargs):
        signed[0] += 1
        return real_sign(*args, **kwargs)

    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("run", "check_output", "check_call", "call", "Popen"):
            monkeypatch.setattr(subprocess, name, _no_commands)
        monkeypatch.setattr(paths, "STATE_DIR", state_dir)
        monkeypatch.setattr(paths, "OVS_SYSTEM_ID_FILE", state_dir / "etc-openvswitch" / "system-id.conf")
        monkeypatch.setattr(socket, "gethostname", lambda: fake.HOSTNAME)
        fake.FakeClock().install(monkeypatch)
        fake.FakeMachine().running_member().install(monkeypatch)
        monkeypatch.setattr(pki, "sign", counted_sign)
        yield signed


@dataclasses.dataclass(frozen=True)
class Chassis:
    """One ovn-chassis unit's requests: a CSR per chassis service, each with its own key."""

    csrs: tuple[str, ...]

    @classmethod
    def numbered(cls, unit: int) -> Chassis:
        address = f"10.1.{unit // 250}.{unit % 250 + 1}"
        return cls(tuple(
            str(pki.make_csr(pki.service_request(f"chassis-{unit}", service, [address]), pki.generate_private_key()))
            for service in pki.CHASSIS_SERVICES
        ))

    def databag(self) -> dict[str, str]:
        """The requirer's unit databag (the library's `certificate_signing_requests`)."""
        requests = [{"certificate_signing_request": csr, "ca": False} for csr in self.csrs]
        return {"certificate_signing_requests": json.dumps(requests)}


def issued_entry(csr: str, ca: Certificate, ca_key: str) -> dict:
    """A CSR's certificate as the library keeps it in the provider's app databag."""
    certificate = str(real_sign(csr, ca, ca_key))
    return {"certificate_signing_request": csr, "certificate": certificate, "ca": str(ca), "chain": [certificate, str(ca)]}


def real_sign(csr: str, ca: Certificate, ca_key: str) -> Certificate:
    return pki.sign(CertificateSigningRequest.from_string(csr), ca, ca_key)


def certificates_relation(chassis: list[Chassis], issued: list[dict]) -> testing.Relation:
    return testing.Relation(
        "certificates",
        remote_app_name=REQUIRER,
        remote_units_data={unit: one.databag() for unit, one in enumerate(chassis)},
        local_app_data={"certificates": json.dumps(issued)},
    )


def issued_in(state: testing.State) -> int:
    """How many certificates the provider's app databag holds."""
    [relation] = [r for r in state.relations if r.endpoint == "certificates"]
    return len(json.loads(relation.local_app_data.get("certificates", "[]")))


def run(options: Options) -> report.Result:
    sizes = options.sizes or SIZES
    population = [Chassis.numbered(unit) for unit in range(max(sizes) + 1)]
    ca, ca_key = fake.new_ca()
    # what the settled relation holds: every CSR but the last unit's, signed once
    issued = [issued_entry(csr, ca, ca_key) for chassis in population[:-1] for csr in chassis.csrs]
    per_unit = len(pki.CHASSIS_SERVICES)
    new_csr = population[-1].csrs[0]
    baseline = report.Timing("sign one CSR (pki.sign)", timing.samples(lambda: real_sign(new_csr, ca, ca_key), options.repeats))

    samples, details = {}, {}
    with tempfile.TemporaryDirectory() as state_dir, leader_machine(Path(state_dir)) as signed:
        ctx = testing.Context(fake.OVNCentralCharm)
        # the leader of formed clusters with its peers' certificates issued (by an earlier hook)
        leader = ctx.run(ctx.on.update_status(), fake.leader_state(ca, ca_key))
        for size in sorted(sizes):
            relation = certificates_relation(population[:size + 1], issued[:size * per_unit])
            state = dataclasses.replace(leader, relations=leader.relations | {relation})

            def joined(state=state, relation=relation, size=size) -> testing.State:
                return ctx.run(ctx.on.relation_changed(relation, remote_unit=size), state)

            signed[0] = 0
            after = joined()  # counted, and the timed runs' warm-up
            details[size] = {"units": size, "signed": signed[0], "new CSRs": per_unit, "issued after": issued_in(after)}
            samples[size] = timing.samples(joined, options.repeats, warm_up=False)
    timings = {size: report.Timing(f"hook: chassis {size + 1} joins {size} signed", samples[size], details[size]) for size in samples}
    medians = {size: t.median for size, t in timings.items()}
    for g in report.growth(medians):
        growth = f"x{g.time_ratio:.2f} for x{g.size_ratio:g} units"
        timings[g.size] = dataclasses.replace(timings[g.size], details={**details[g.size], "growth": growth})
    measurements = [timings[size] for size in sorted(timings)]
    resigned = [size for size in sorted(details) if details[size]["signed"] != per_unit]
    return report.Result(
        "leader-at-scale",
        baseline,
        tuple(measurements),
        {
            "growth": report.linearity_verdict(medians),
            "goal": report.goal_verdict(f"<= {GOAL_S:g} s at N={GOAL_SIZE}", medians.get(GOAL_SIZE), GOAL_S),
            "signing": "only the new chassis' CSRs" if not resigned
            else f"FINDING: signed other than the {per_unit} new CSRs at N={resigned}",
        },
    )
