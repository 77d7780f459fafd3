"""Bad input for the reliability suite (issue 13): for every option and every action parameter
of every charm, the values to try and what must come of each. Pure data and the functions that
expand it; nothing here runs a lab.

Config (`config_cases`): each case is a value as typed to `juju config APP option=VALUE` and one
of
- ("refused", message): Juju's controller refuses it (a type error; tests/lab/charm_config.py
  says it in Juju's words), nothing reaches the charm;
- ("blocked", message): every unit of the application shows exactly this blocked status and
  nothing changes on the machines (until the value is corrected);
- ("accepted", None): the value is a valid one (e.g. an empty `ovn-source`).
Where the outcome depends on nothing but the value it is computed here, by the lab's Juju for
refusals and by the charms' own parsers (lib/charmed_ovn) for blocked ones; where it depends on
the machine (an address it lacks, an interface it has not, an archive apt cannot reach) it is
spelled out.

Actions (`action_cases`): the parameters as `juju run` hands them to the controller (YAML values:
`ActionCase.arguments` writes them so), and ("refused", message) where Juju's schema check refuses
them (tests/lab/action_params.py, gojsonschema's words) or ("failed", message) for the action's
own failure. A message may name facts of the running model in `{braces}` (the cluster's server
ids, a daemon's log modules, a secret's id): `ActionCase.needs` lists them and
`ActionCase.message(**facts)` fills them in.

Kinds: wrong-type, out-of-range, empty, huge, unicode, whitespace, garbage. `applicable_kinds`
says which an option or parameter has; every one of them has at least one case of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import ops
import yaml

from charmed_ovn import authority, pki, raft
from charmed_ovn.bgp_config import BgpConfig
from charmed_ovn.chassis import ChassisConfig
from charmed_ovn.config import CentralConfig, ConfigError
from charmed_ovn.quoting import shown
from tests.lab import action_params, charm_config

CHARMS_DIR = Path(__file__).resolve().parents[2] / "charms"
CHARMS = ("ovn-central", "ovn-chassis", "ovn-bgp")
KINDS = ("wrong-type", "out-of-range", "empty", "huge", "unicode", "whitespace", "garbage")
HUGE = 100_000  # characters
REFUSED, BLOCKED, ACCEPTED, FAILED = "refused", "blocked", "accepted", "failed"
Expected = tuple[str, str | None]

PARSERS: dict[str, Callable[[Mapping[str, object]], object]] = {
    "ovn-central": CentralConfig.parse, "ovn-chassis": ChassisConfig.parse, "ovn-bgp": BgpConfig.parse,
}
# Strings holding a number or a list of names that have a range of their own (`out-of-range`),
# and those holding numbers (`wrong-type`: a value of another type, as text).
RANGED_STRINGS = frozenset({"vrf", "asn", "asn-range", "bgp-peer-asn", "central-ips", "encap-ip", "bridge-mappings", "ext-connection"})
NUMERIC_STRINGS = frozenset({"vrf", "asn", "asn-range", "bgp-peer-asn"})
# An unusable archive: .invalid never resolves (RFC 2606), and the lab's machines have no network.
UNREACHABLE_SOURCE = "deb http://archive.invalid/ubuntu noble main"


@cache
def charmcraft(charm: str) -> dict[str, Any]:
    return yaml.safe_load((CHARMS_DIR / charm / "charmcraft.yaml").read_text())


def options_of(charm: str) -> dict[str, dict[str, Any]]:
    return charmcraft(charm)["config"]["options"]


def actions_of(charm: str) -> dict[str, dict[str, Any]]:
    return charmcraft(charm).get("actions") or {}


def applicable_kinds(spec: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """The kinds of bad value an option (or action parameter) of this declaration can be given."""
    kind = spec.get("type", "string")
    if "enum" in spec or kind in ("int", "integer", "number"):
        return KINDS
    if kind == "boolean":
        return tuple(k for k in KINDS if k != "out-of-range")
    ranged = () if name in RANGED_STRINGS else ("out-of-range",)
    typed = () if name in NUMERIC_STRINGS else ("wrong-type",)
    return tuple(k for k in KINDS if k not in ranged + typed)


# --- config -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigCase:
    charm: str
    option: str
    value: str  # as typed to `juju config`
    kind: str
    expected: Expected

    @property
    def argument(self) -> str:
        return f"{self.option}={self.value}"


# What every option of a type is given, all refused by Juju (as text: `juju config` sends text).
INT_REFUSALS = [
    ("wrong-type", "1.5"), ("wrong-type", "sixteen"), ("wrong-type", "true"), ("empty", ""), ("huge", "9" * HUGE),
    ("unicode", "\u0661\u0666"), ("unicode", "\uff11\uff16"), ("whitespace", " 16"), ("whitespace", "16\n"),
    ("garbage", "0x10"), ("garbage", "1_000"), ("garbage", "16s"), ("out-of-range", "9223372036854775808"),
]
BOOLEAN_REFUSALS = [
    ("wrong-type", "1.5"), ("wrong-type", "2"), ("empty", ""), ("huge", "t" * HUGE), ("unicode", "\uff54\uff52\uff55\uff45"),
    ("whitespace", " true"), ("whitespace", "false\n"), ("garbage", "yes"), ("garbage", "on"), ("garbage", "tRUE"),
]
# Options' own cases: (kind, value, expected); None as expected: what the charm's parser says
# (blocked with its message, or accepted).
PARSED = None
OWN_CASES: dict[str, list[tuple[str, str, Expected | None]]] = {
    "election-timer": [("out-of-range", "0", PARSED), ("out-of-range", "61", PARSED), ("out-of-range", "-1", PARSED),
                       ("out-of-range", "9223372036854775807", PARSED)],
    "northd-threads": [("out-of-range", "0", PARSED), ("out-of-range", "257", PARSED), ("out-of-range", "-9223372036854775808", PARSED)],
    "ovsdb-server-inactivity-probe": [("out-of-range", "4", PARSED), ("out-of-range", "3601", PARSED), ("out-of-range", "-1", PARSED)],
    "certificate-renewal-days": [("out-of-range", "0", PARSED), ("out-of-range", "366", PARSED)],
    "ovn-openflow-probe-interval": [("out-of-range", "4", PARSED), ("out-of-range", "3601", PARSED), ("out-of-range", "-5", PARSED)],
    "ovn-source": [
        ("empty", "", PARSED), ("whitespace", "  \n", PARSED), ("huge", "deb http://x/ " + "a" * HUGE, PARSED),
        ("unicode", "deb http://\u00fcn\u00ef.example/ubuntu noble main", PARSED),
        ("garbage", "ppa:ovn/stable", PARSED), ("garbage", "cloud:noble", PARSED),
        ("garbage", "deb http://a.invalid/ x main\ndeb http://b.invalid/ y main", PARSED),
        ("garbage", UNREACHABLE_SOURCE, (BLOCKED, f"ovn-source: apt cannot use {UNREACHABLE_SOURCE!r}, so the previous source "
                                                  "stays (apt's error is in the unit's log)")),
        ("whitespace", f" {UNREACHABLE_SOURCE} ", (BLOCKED, f"ovn-source: apt cannot use ' {UNREACHABLE_SOURCE} ', so the "
                                                            "previous source stays (apt's error is in the unit's log)")),
    ],
    "central-ips": [
        ("empty", "", PARSED), ("whitespace", " ", PARSED), ("whitespace", "10.99.0.10, 10.99.0.11", PARSED),
        ("huge", "1" * HUGE, PARSED), ("unicode", "\u0661\u0660.99.0.10", PARSED), ("out-of-range", "10.99.0.256", PARSED),
        ("garbage", "10.99.0.10,", PARSED), ("garbage", "[fd99::10]", PARSED), ("garbage", "fe80::1%eth0", PARSED),
        ("garbage", "0.0.0.0", PARSED), ("garbage", "10.99.0.10,10.99.0.10", PARSED),
    ],
    "encap-ip": [
        ("empty", "", PARSED), ("whitespace", " 10.99.1.10", PARSED), ("huge", "x" * HUGE, PARSED),
        ("unicode", "\uff11\uff10.99.1.10", PARSED), ("out-of-range", "10.99.1.0/33", PARSED),
        ("garbage", "10.99.1", PARSED), ("garbage", "127.0.0.1", PARSED), ("garbage", "224.0.0.5", PARSED),
        ("garbage", "10.200.0.1", (BLOCKED, "encap-ip: 10.200.0.1 is not an address of this machine")),
        ("garbage", "10.200.0.0/24", (BLOCKED, "encap-ip: this machine has no address in 10.200.0.0/24")),
    ],
    "bridge-mappings": [
        ("empty", "", PARSED), ("whitespace", "physnet1 : br-ex", PARSED), ("huge", "p" * HUGE, PARSED),
        ("unicode", "phys\u00e9:br-ex", PARSED), ("unicode", "physnet1:br-ex\u00a0physnet2:br-two", PARSED),
        ("out-of-range", "physnet1:br-sixteen-chars", PARSED), ("garbage", "physnet1", PARSED),
        ("garbage", "physnet1:br-int", PARSED), ("garbage", "physnet1:..", PARSED), ("garbage", "p:br-a,p:br-b", PARSED),
    ],
    "ext-connection": [
        ("empty", "", PARSED), ("whitespace", "eth2\u00a0", PARSED), ("huge", "e" * HUGE, PARSED),
        ("unicode", "\u00e9th2", PARSED), ("out-of-range", "eth-too-long0", PARSED), ("garbage", "eth2,,ext-b", PARSED),
        ("garbage", "..", PARSED), ("garbage", "eth2,eth2", PARSED), ("garbage", "a-b,a_b", PARSED),
        ("garbage", "eth9", (BLOCKED, "ext-connection: no interface eth9 on this machine")),
    ],
    "vrf": [
        ("empty", "", PARSED), ("whitespace", " 10", PARSED), ("whitespace", "auto ", PARSED), ("huge", "1" * HUGE, PARSED),
        ("unicode", "\u0663", PARSED), ("unicode", "\u00b2", PARSED), ("wrong-type", "1.5", PARSED),
        ("out-of-range", "0", PARSED), ("out-of-range", "4294967296", PARSED), ("out-of-range", "254", PARSED),
        ("garbage", "AUTO", PARSED),
    ],
    "asn": [
        ("empty", "", PARSED), ("whitespace", " auto", PARSED), ("huge", "1" * HUGE, PARSED), ("unicode", "\u0664\u0662", PARSED),
        ("wrong-type", "true", PARSED), ("out-of-range", "0", PARSED), ("out-of-range", "4294967295", PARSED),
        ("garbage", "AS65000", PARSED),
    ],
    "asn-range": [
        ("empty", "", PARSED), ("whitespace", "4210000000 - 4294967294", PARSED), ("huge", "1" * HUGE + "-2", PARSED),
        ("unicode", "\u0663-\u0664", PARSED), ("wrong-type", "4210000000", PARSED),
        ("out-of-range", "4100000000-4210000000", PARSED), ("out-of-range", "4210000001-4210000000", PARSED),
        ("garbage", "a-b", PARSED),
    ],
    "bgp-peer-asn": [
        ("empty", "", PARSED), ("whitespace", " external", PARSED), ("huge", "1" * HUGE, PARSED), ("unicode", "\u00b2", PARSED),
        ("wrong-type", "1.5", PARSED), ("out-of-range", "0", PARSED), ("out-of-range", "4294967295", PARSED),
        ("garbage", "External", PARSED),
    ],
}


def juju_refusal(charm: str, option: str, value: str) -> str | None:
    """What Juju's controller says to `juju config APP option=value`; None when it takes it."""
    try:
        charm_config.parse_strings(options_of(charm), {option: value})
    except charm_config.OptionError as e:
        return str(e)
    return None


def parsed_outcome(charm: str, option: str, value: str) -> Expected:
    """What the charm's own parser makes of the value Juju hands it (the other options at their
    defaults): blocked with its message, or accepted."""
    options = options_of(charm)
    typed = charm_config.parse_strings(options, {option: value})
    config = {name: spec.get("default") for name, spec in options.items()} | typed
    try:
        PARSERS[charm](config)
    except ConfigError as e:
        return (BLOCKED, str(e))
    return (ACCEPTED, None)


def config_cases(charm: str) -> list[ConfigCase]:
    """Every case of every option of the charm, its expected outcome filled in."""
    cases = []
    for option, spec in options_of(charm).items():
        kind = spec.get("type", "string")
        own = OWN_CASES.get(option, [])
        refusals = {"int": INT_REFUSALS, "boolean": BOOLEAN_REFUSALS}.get(kind, [])
        for case_kind, value in refusals:
            refusal = juju_refusal(charm, option, value)
            assert refusal is not None, f"Juju takes {option}={value!r}"
            cases.append(ConfigCase(charm, option, value, case_kind, (REFUSED, refusal)))
        for case_kind, value, expected in own:
            if expected is None:
                refusal = juju_refusal(charm, option, value)
                expected = (REFUSED, refusal) if refusal is not None else parsed_outcome(charm, option, value)
            cases.append(ConfigCase(charm, option, value, case_kind, expected))
    return cases


def all_config_cases() -> list[ConfigCase]:
    return [case for charm in CHARMS for case in config_cases(charm)]


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCase:
    charm: str
    action: str
    params: dict[str, Any]  # as the controller gets them (YAML values)
    kind: str
    expected: Expected
    parameter: str | None = None  # the parameter the case is about; None: an unknown one
    unit: str = "leader"  # where it runs: the application's leader (`APP/leader`)
    needs: tuple[str, ...] = field(default=())  # facts of the model the message names

    def resolved(self, **facts: str) -> dict[str, Any]:
        """The parameters with the model's facts (`needs`) in place of their `{names}`."""
        if not self.needs:
            return dict(self.params)
        return {key: value.format(**facts) if isinstance(value, str) else value for key, value in self.params.items()}

    def arguments(self, **facts: str) -> list[str]:
        """`juju run` arguments that the CLI reads back (YAML) as the parameters: JSON is YAML."""
        return [f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in self.resolved(**facts).items()]

    def message(self, **facts: str) -> str | None:
        """The expected message; where the case `needs` facts of the model, a template of them."""
        text = self.expected[1]
        return None if text is None else text.format(**facts) if self.needs else text


def schema_refusal(charm: str, action: str, params: Mapping[str, Any]) -> str | None:
    """Juju's refusal of these parameters (validated against the action's schema), or None."""
    try:
        action_params.checked_params(action, actions_of(charm)[action], dict(params))
    except action_params.ActionParamsError as e:
        return str(e)
    return None


# For each parameter of a type, values Juju's schema check refuses, by kind (YAML values).
STRING_TYPE_REFUSALS = [("wrong-type", 1), ("wrong-type", True), ("wrong-type", ["all"])]
ENUM_REFUSALS = [("empty", ""), ("huge", "t" * HUGE), ("unicode", "t\u00e9xt"), ("whitespace", " text"), ("garbage", "yaml")]
BOOLEAN_TYPE_REFUSALS = [("wrong-type", 1), ("wrong-type", "true"), ("empty", ""), ("huge", "t" * HUGE),
                         ("unicode", "\uff54\uff52\uff55\uff45"), ("whitespace", " true"), ("garbage", "yes please")]
# What a free string parameter is given: each reaches the charm, which must fail saying why.
FREE_STRINGS = [("empty", ""), ("huge", "f" * HUGE), ("unicode", "\u00e9"), ("whitespace", " ANY"), ("garbage", "no:such")]
# The charms' own words (charm.py) where the lib has none to call.
NO_CA_PARAMS = "give secret-id, or cert and key, or combined (and nothing else)"
KICK_UNCONFIRMED = "cluster-kick removes servers from the raft clusters for good: confirm with i-really-mean-it=true"
NO_KICK_TARGET = "give nb-server-id, sb-server-id or both (see the cluster-status action)"
# Where an action needs more than the parameter a case is about to get as far as checking it.
BASE_PARAMS = {"set-log-level": {"level": "info"}, "cluster-kick": {"i-really-mean-it": True}}
# set-ca with secrets: `{secret_id}` a secret that does not exist; `{ungranted_secret_id}` one the
# operator added and did not grant to ovn-central; `{keyless_secret_id}` a granted one without the
# keys. For the first two, what ops raises when the charm looks the secret up (SecretNotFoundError
# with no text; ModelError with the hook tool's stderr), which the charm words (authority.py);
# PARSED: what set-ca's parameter check says before any lookup, e.g. of a granted secret's URI with
# white space around it (ops would strip it and look).
SECRET_APP = "ovn-central"  # the bundle's application, named in the messages
NOT_FOUND, NOT_GRANTED = ops.SecretNotFoundError(), ops.ModelError("ERROR permission denied\n")
SECRET_CASES: list[tuple[str, str, ops.ModelError | str | None, tuple[str, ...]]] = [
    ("garbage", "{secret_id}", NOT_FOUND, ("secret_id",)),
    ("garbage", "{ungranted_secret_id}", NOT_GRANTED, ("ungranted_secret_id",)),
    ("garbage", "{keyless_secret_id}", "secret-id: the secret needs the keys 'certificate' and 'private-key'",
     ("keyless_secret_id",)),
    ("garbage", "ovn-ca", PARSED, ()),  # the secret's name instead of its URI
    ("whitespace", " {keyless_secret_id}\n", PARSED, ("keyless_secret_id",)),
    ("unicode", "secret:\u00fcn\u00ef", PARSED, ()),
    ("huge", "secret:" + "x" * HUGE, PARSED, ()),
    ("empty", "", PARSED, ()),
]
PEM_CASES = [  # `combined` (and `cert` with `key`): PEM texts that are no CA
    ("garbage", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
    ("garbage", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"),
    ("garbage", "not a PEM text"),
    ("empty", ""), ("whitespace", "   \n"), ("huge", "A" * HUGE),
    ("unicode", "-----BEGIN CERTIFICATE-----\n\u00fc\n-----END CERTIFICATE-----\n"),
]


def _literal(text: str) -> str:
    """`text` inside a message template (of a case that `needs` facts)."""
    return text.replace("{", "{{").replace("}", "}}")


def _ca_failure(params: Mapping[str, object]) -> str:
    def no_secret(secret_id: str) -> Mapping[str, str]:
        raise AssertionError(f"{secret_id}: a case needing a secret is spelled out")

    try:
        pki.user_ca_from_params(params, no_secret)
    except pki.CAError as e:
        return str(e)
    raise AssertionError(f"set-ca takes {params}")


def _secret_failure(value: str, outcome: ops.ModelError | str | None) -> str:
    """set-ca's failure for a secret-id (a template where it names a fact of the model: each fact
    is a secret URI, so the value's template and the value are quoted whole alike)."""
    if outcome is PARSED:
        return _ca_failure({"secret-id": value}) if value else NO_CA_PARAMS
    if isinstance(outcome, ops.ModelError):
        return authority.secret_read_failure(outcome, value, SECRET_APP)
    return outcome


def _reissue_failure(charm: str, service: str) -> str:
    local = pki.CENTRAL_SERVICES if charm == "ovn-central" else pki.CHASSIS_SERVICES
    try:
        pki.services_to_reissue(service, local)
    except ValueError as e:
        return str(e)
    raise AssertionError(f"reissue-certificates takes {service!r}")


def _server_id_failure(parameter: str, given: str) -> tuple[str, tuple[str, ...]]:
    """cluster-kick's failure for a server id that names no server: its syntax checked here, the
    cluster's own ids (`{nb_servers}`, `{sb_servers}`: a fact of the model) left to fill in."""
    if not given:
        return NO_KICK_TARGET, ()
    try:
        raft.match_server(given, [], "")
    except ValueError as e:
        if "is not a server id" in str(e):
            return f"{parameter}: {e}", ()
        # `no server ... in the cluster; its servers are ` and, in place of none here, the cluster's
        servers = f"{parameter.partition('-')[0]}_servers"
        return _literal(f"{parameter}: {e}") + f"{{{servers}}}", (servers,)
    raise AssertionError(f"{parameter}={given!r} names a server of an empty cluster")


def _base_params(charm: str, action: str) -> dict[str, Any]:
    base = dict(BASE_PARAMS.get(action, {}))
    if action == "set-log-level":
        base["daemon"] = actions_of(charm)[action]["params"]["daemon"]["enum"][0]
    return base


def _charm_failure(charm: str, action: str, parameter: str, params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """How the charm fails an action given a free string parameter it cannot use."""
    value = params[parameter]
    if action == "reissue-certificates":
        return _reissue_failure(charm, value), ()
    if action == "set-log-level":
        unknown = _literal(f"{params['daemon']} has no log module {shown(value)}")
        return f"{unknown} (its modules: {{modules}})", ("modules",)
    if action == "cluster-kick":
        return _server_id_failure(parameter, value)
    raise AssertionError(f"no failure known for {action} {parameter}")


def _parameter_cases(charm: str, action: str, parameter: str) -> list[ActionCase]:
    """The charm's own failures for a free string parameter."""
    if action == "set-ca" and parameter == "secret-id":
        return [ActionCase(charm, action, {parameter: value}, kind, (FAILED, _secret_failure(value, outcome)), parameter, needs=needs)
                for kind, value, outcome, needs in SECRET_CASES]
    if action == "set-ca":  # cert and key together, or combined
        cases = []
        for kind, value in PEM_CASES:
            params = {parameter: value} if parameter == "combined" else {"cert": value, "key": value}
            message = _ca_failure(params) if value else NO_CA_PARAMS
            cases.append(ActionCase(charm, action, params, kind, (FAILED, message), parameter))
        return cases
    base = _base_params(charm, action)
    cases = []
    for kind, value in FREE_STRINGS:
        params = {**base, parameter: value}
        message, needs = _charm_failure(charm, action, parameter, params)
        cases.append(ActionCase(charm, action, params, kind, (FAILED, message), parameter, needs=needs))
    return cases


def _refused(charm: str, action: str, params: Mapping[str, Any]) -> str:
    refusal = schema_refusal(charm, action, params)
    assert refusal is not None, f"Juju takes {action} {params}"
    return refusal


def _schema_cases(charm: str, action: str, parameter: str, declared: Mapping[str, Any]) -> list[ActionCase]:
    """The values Juju's schema check refuses for the parameter's type, enum and `required`."""
    base = _base_params(charm, action)
    if declared.get("type") == "boolean":
        values = BOOLEAN_TYPE_REFUSALS
    elif "enum" in declared:
        values = [*STRING_TYPE_REFUSALS, *ENUM_REFUSALS, ("out-of-range", f"{declared['enum'][-1]}x")]
    else:
        values = STRING_TYPE_REFUSALS
    cases = []
    for kind, value in values:
        params = {**base, parameter: value}
        cases.append(ActionCase(charm, action, params, kind, (REFUSED, _refused(charm, action, params)), parameter))
    if parameter in actions_of(charm)[action].get("required", []):
        missing = {key: value for key, value in base.items() if key != parameter}
        cases.append(ActionCase(charm, action, missing, "empty", (REFUSED, _refused(charm, action, missing)), parameter))
    return cases


def action_cases(charm: str) -> list[ActionCase]:
    """Every case of every action parameter of the charm, and an unknown parameter for every
    action, the expected outcome filled in."""
    cases = []
    for action, spec in actions_of(charm).items():
        unknown = {**_base_params(charm, action), "no-such-parameter": "x"}
        cases.append(ActionCase(charm, action, unknown, "garbage", (REFUSED, _refused(charm, action, unknown))))
        for parameter, declared in (spec.get("params") or {}).items():
            cases += _schema_cases(charm, action, parameter, declared)
            if "enum" not in declared and declared.get("type") == "string":
                cases += _parameter_cases(charm, action, parameter)
        if action == "cluster-kick":
            unconfirmed = {"nb-server-id": "abcd", "i-really-mean-it": False}
            cases.append(ActionCase(charm, action, unconfirmed, "out-of-range", (FAILED, KICK_UNCONFIRMED), "i-really-mean-it"))
        if action == "set-ca":
            cases.append(ActionCase(charm, action, {"cert": "x", "combined": "y"}, "garbage", (FAILED, NO_CA_PARAMS), "combined"))
    return cases


def all_action_cases() -> list[ActionCase]:
    return [case for charm in CHARMS for case in action_cases(charm)]
