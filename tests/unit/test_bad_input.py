"""The bad-input table of the reliability suite (tests/functional/bad_input.py): every option and
every action parameter of every charm has a case of each kind it can be given, and each case's
expectation holds where it can be checked without a lab."""

from __future__ import annotations

import pytest

from tests.functional import bad_input
from tests.functional.bad_input import ACCEPTED, BLOCKED, CHARMS, FAILED, REFUSED, ActionCase, ConfigCase
from tests.lab import action_params
from tests.lab.cli import parse_assignments, parse_config_values

CONFIG_CASES = bad_input.all_config_cases()
ACTION_CASES = bad_input.all_action_cases()
OPTIONS = [(charm, option) for charm in CHARMS for option in bad_input.options_of(charm)]
PARAMETERS = [
    (charm, action, parameter)
    for charm in CHARMS
    for action, spec in bad_input.actions_of(charm).items()
    for parameter in spec.get("params") or {}
]
FACTS = {"secret_id": "secret:d5b1t0nothere0000000", "ungranted_secret_id": "secret:d5b1t0ungranted00000",
         "keyless_secret_id": "secret:d5b1t0keyless000000", "nb_servers": "1a2b, 3c4d", "sb_servers": "5e6f",
         "modules": "jsonrpc, reconnect"}


def test_the_table_covers_the_three_charms_options_and_actions():
    assert len(OPTIONS) == 8 + 9 + 7
    assert {case.charm for case in CONFIG_CASES} == set(CHARMS)
    assert {(case.charm, case.action) for case in ACTION_CASES} == {
        (charm, action) for charm in CHARMS for action in bad_input.actions_of(charm)
    }


@pytest.mark.parametrize(("charm", "option"), OPTIONS)
def test_every_option_has_a_case_of_each_kind_it_can_be_given(charm, option):
    declared = bad_input.options_of(charm)[option]
    kinds = {case.kind for case in CONFIG_CASES if (case.charm, case.option) == (charm, option)}
    assert set(bad_input.applicable_kinds(declared, option)) <= kinds


@pytest.mark.parametrize(("charm", "action", "parameter"), PARAMETERS)
def test_every_action_parameter_has_a_case_of_each_kind_it_can_be_given(charm, action, parameter):
    declared = bad_input.actions_of(charm)[action]["params"][parameter]
    kinds = {case.kind for case in ACTION_CASES if (case.charm, case.action, case.parameter) == (charm, action, parameter)}
    assert set(bad_input.applicable_kinds(declared, parameter)) <= kinds


def test_every_action_is_given_a_parameter_it_does_not_have():
    refused = {(case.charm, case.action) for case in ACTION_CASES if case.parameter is None and case.expected[0] == REFUSED}
    assert refused == {(charm, action) for charm in CHARMS for action in bad_input.actions_of(charm)}


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda case: f"{case.charm}-{case.option}-{case.kind}")
def test_a_config_case_refused_by_juju_is_refused_and_any_other_reaches_the_charm(case: ConfigCase):
    refusal = bad_input.juju_refusal(case.charm, case.option, case.value)
    assert case.expected[0] in (REFUSED, BLOCKED, ACCEPTED)
    assert (refusal is not None) == (case.expected[0] == REFUSED)
    if case.expected[0] == REFUSED:
        assert case.expected[1] == refusal
    assert parse_config_values([case.argument]) == {case.option: case.value}  # what `juju config` sends


def test_an_outcome_that_depends_on_the_machine_is_one_the_charms_parser_lets_through():
    spelled_out = [
        case for case in CONFIG_CASES
        if case.expected[0] == BLOCKED and bad_input.parsed_outcome(case.charm, case.option, case.value) != case.expected
    ]
    assert spelled_out, "the table has machine-dependent cases"
    assert all(bad_input.parsed_outcome(case.charm, case.option, case.value) == (ACCEPTED, None) for case in spelled_out)


@pytest.mark.parametrize("case", ACTION_CASES, ids=lambda case: f"{case.charm}-{case.action}-{case.parameter}-{case.kind}")
def test_an_action_case_refused_by_juju_is_refused_and_any_other_reaches_the_charm(case: ActionCase):
    spec = bad_input.actions_of(case.charm)[case.action]
    params = case.resolved(**FACTS)
    if case.expected[0] == REFUSED:
        with pytest.raises(action_params.ActionParamsError) as refusal:
            action_params.checked_params(case.action, spec, params)
        assert str(refusal.value) == case.message(**FACTS)
    else:
        assert case.expected[0] == FAILED
        action_params.checked_params(case.action, spec, params)
        assert case.message(**FACTS)
    assert parse_assignments(case.arguments(**FACTS)) == params  # what `juju run` reads back


def test_facts_of_the_model_fill_the_messages_that_name_them():
    [kick] = [case for case in ACTION_CASES if case.action == "cluster-kick" and case.params.get("nb-server-id") == "f" * bad_input.HUGE]
    [secret] = [case for case in ACTION_CASES if case.needs == ("ungranted_secret_id",)]

    assert kick.message(**FACTS) == (
        "nb-server-id: no server 'ffffffffffffffffffffffffffffffff'... (100000 characters) in the cluster; "
        "its servers are 1a2b, 3c4d"
    )
    assert secret.resolved(**FACTS) == {"secret-id": "secret:d5b1t0ungranted00000"}
    assert secret.message(**FACTS) == (
        "secret-id: ovn-central may not read secret secret:d5b1t0ungranted00000 (juju grant-secret NAME ovn-central)"
    )


NOT_A_SECRET_URI = "is not a secret URI (secret:ID, as juju add-secret prints it)"
SECRET_ID_FAILURES = {  # each set-ca secret-id case by kind and value (with FACTS): the exact failure
    ("garbage", "secret:d5b1t0nothere0000000"):
        "secret-id: no secret secret:d5b1t0nothere0000000 in this model (juju add-secret, then juju grant-secret NAME ovn-central)",
    ("garbage", "secret:d5b1t0ungranted00000"):
        "secret-id: ovn-central may not read secret secret:d5b1t0ungranted00000 (juju grant-secret NAME ovn-central)",
    ("garbage", "secret:d5b1t0keyless000000"): "secret-id: the secret needs the keys 'certificate' and 'private-key'",
    ("garbage", "ovn-ca"): f"secret-id: 'ovn-ca' {NOT_A_SECRET_URI}",
    ("whitespace", " secret:d5b1t0keyless000000\n"): f"secret-id: ' secret:d5b1t0keyless000000\\n' {NOT_A_SECRET_URI}",
    ("unicode", "secret:\u00fcn\u00ef"): f"secret-id: 'secret:\u00fcn\u00ef' {NOT_A_SECRET_URI}",
    ("huge", "secret:" + "x" * bad_input.HUGE):
        f"secret-id: 'secret:xxxxxxxxxxxxxxxxxxxxxxxxx'... (100007 characters) {NOT_A_SECRET_URI}",
    ("empty", ""): "give secret-id, or cert and key, or combined (and nothing else)",
}


def test_every_secret_id_case_expects_the_charms_exact_failure():
    cases = [case for case in ACTION_CASES if (case.action, case.parameter) == ("set-ca", "secret-id") and case.expected[0] == FAILED]

    assert {(case.kind, case.resolved(**FACTS)["secret-id"]): case.message(**FACTS) for case in cases} == SECRET_ID_FAILURES


@pytest.mark.parametrize(
    ("charm", "action", "parameter", "expected"),
    [
        ("ovn-central", "reissue-certificates", "service",
         "unknown service 'ffffffffffffffffffffffffffffffff'... (100000 characters): expected one of ovnnb, ovnsb, ovn-northd, client, or all"),
        ("ovn-chassis", "reissue-certificates", "service",
         "unknown service 'ffffffffffffffffffffffffffffffff'... (100000 characters): expected one of ovn-controller, client, or all"),
        ("ovn-central", "set-log-level", "module",
         "ovn-northd has no log module 'ffffffffffffffffffffffffffffffff'... (100000 characters) (its modules: jsonrpc, reconnect)"),
        ("ovn-chassis", "set-log-level", "module",
         "ovn-controller has no log module 'ffffffffffffffffffffffffffffffff'... (100000 characters) (its modules: jsonrpc, reconnect)"),
        ("ovn-central", "cluster-kick", "sb-server-id",
         "sb-server-id: no server 'ffffffffffffffffffffffffffffffff'... (100000 characters) in the cluster; its servers are 5e6f"),
    ],
)
def test_a_huge_free_string_is_quoted_by_its_start_and_length(charm, action, parameter, expected):
    [huge] = [case for case in ACTION_CASES if (case.charm, case.action, case.parameter, case.kind) == (charm, action, parameter, "huge")
              and case.expected[0] == FAILED]

    assert huge.message(**FACTS) == expected
