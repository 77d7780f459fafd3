"""The lab controller's Juju semantics, on in-memory models (no machines, no charm runs):
hook order, relation membership, leadership leases, update-status timers, model config,
application status, action parameters, subordinates and container scope, relation removal,
bundle overlays and link names."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.lab import hooktools, network
from tests.lab.action_params import ActionParamsError, checked_params
from tests.lab.model import (
    STATUS_HISTORY,
    LabError,
    Model,
    checked_interface_name,
    checked_model_config,
    derived_status,
    endpoints_of,
    infer_endpoints,
    link_name_clash,
    merge_overlay,
    new_application,
    subordinate_errors,
)
from tests.lab.paths import REPO_ROOT

T0 = 1_000_000.0  # an arbitrary "now" in seconds
CENTRAL_ACTIONS = yaml.safe_load((REPO_ROOT / "charms/ovn-central/charmcraft.yaml").read_text())["actions"]


def kinds(model: Model, unit: str) -> list[tuple]:
    return [
        (event["kind"], *(event[key] for key in ("relation_id", "remote_unit") if key in event))
        for event in model.units[unit]["queue"]
    ]


def run_queue(model: Model, unit: str, *, start_at: float = T0) -> None:
    """What run_hooks does around each hook, minus the hook itself: all succeed."""
    while model.units[unit]["queue"]:
        event = model.units[unit]["queue"][0]
        model._begin_hook(unit, event)
        model.units[unit]["queue"].pop(0)
        model._after_hook(unit, event, {"ok": True})
        if event["kind"] == "start":
            model.units[unit]["next_update_status"] = start_at + 300


def model_with_peers(*machine_ids: str) -> tuple[Model, str]:
    """A model with one application `db` with a peer relation, and running machines."""
    model = Model.new("unit")
    model.apps["db"] = new_application("/nowhere", {}, {})
    peer = model._new_relation([("db", "cluster")], "db-peers", peer=True)
    for machine_id in machine_ids:
        model.data["machines"][machine_id] = {"host": f"h{machine_id}", "index": int(machine_id), "state": "started"}
    return model, peer


def kill(model: Model, machine_id: str, at: float) -> None:
    model.data["machines"][machine_id].update(state="down", down_since=at)
    model._stop_agent_timers(machine_id)


class TestHookOrder:
    def test_a_second_unit_starts_before_it_hears_of_its_peers(self):
        model, peer = model_with_peers("0", "1")
        first = model.admit_unit("db", "0")
        run_queue(model, first)
        second = model.admit_unit("db", "1")
        assert kinds(model, second) == [
            ("install",),
            ("relation_created", peer),
            ("leader_settings_changed",),
            ("config_changed",),
            ("start",),
            ("relation_joined", peer, first),
            ("relation_changed", peer, first),
        ]
        assert kinds(model, first) == [("relation_joined", peer, second), ("relation_changed", peer, second)]

    def test_the_first_unit_is_elected_after_relation_created(self):
        model, peer = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        assert kinds(model, unit) == [
            ("install",), ("relation_created", peer), ("leader_elected",), ("config_changed",), ("start",),
        ]

    def test_a_unit_databag_holds_its_addresses_from_relation_created_on(self):
        # Juju writes private-address, ingress-address and egress-subnets itself; the ingress
        # address is the endpoint's binding (here `cluster`, bound to the underlay space).
        model, peer = model_with_peers("2")
        model.apps["db"]["bindings"] = {"cluster": "underlay"}
        unit = model.admit_unit("db", "2")
        assert model.data["relations"][peer]["unit_data"][unit] == {
            "private-address": "10.99.0.12", "ingress-address": "10.99.1.12", "egress-subnets": "10.99.1.12/32",
        }

    def test_a_remote_unit_is_seen_from_its_relation_joined_hook_on(self):
        model, peer = model_with_peers("0", "1")
        first = model.admit_unit("db", "0")
        second = model.admit_unit("db", "1")
        relation = model.data["relations"][peer]
        assert relation["seen"][second] == []
        for _ in range(5):  # up to and including start
            model._begin_hook(second, model.units[second]["queue"].pop(0))
        assert relation["seen"][second] == []
        model._begin_hook(second, model.units[second]["queue"][0])
        assert relation["seen"][second] == [first]

    def test_a_unit_removed_before_its_peer_heard_of_it_is_never_announced(self):
        model, peer = model_with_peers("0", "1")
        first = model.admit_unit("db", "0")
        run_queue(model, first)
        second = model.admit_unit("db", "1")
        model.remove_unit(second)
        assert kinds(model, first) == []
        assert ("relation_joined", peer, first) not in kinds(model, second)
        assert kinds(model, second)[-3:] == [("relation_broken", peer), ("stop",), ("remove",)]

    def test_a_seen_unit_departs_on_both_sides(self):
        model, peer = model_with_peers("0", "1")
        first, second = model.admit_unit("db", "0"), model.admit_unit("db", "1")
        run_queue(model, first)
        run_queue(model, second)
        model.remove_unit(second)
        assert kinds(model, first) == [("relation_departed", peer, second)]
        assert kinds(model, second) == [("relation_departed", peer, first), ("relation_broken", peer), ("stop",), ("remove",)]


class TestCoalescing:
    def test_app_and_unit_relation_changed_stay_apart_and_repeats_merge(self):
        model, peer = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        run_queue(model, unit)
        for remote in (None, "db/7", None, "db/7"):
            model._queue(unit, {"kind": "relation_changed", "relation_id": peer, "remote_unit": remote})
        assert [event["remote_unit"] for event in model.units[unit]["queue"]] == [None, "db/7"]

    def test_an_event_already_running_takes_no_later_change(self):
        model, peer = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        run_queue(model, unit)
        model._queue(unit, {"kind": "relation_changed", "relation_id": peer, "remote_unit": None})
        model.units[unit]["queue"][0]["running"] = True
        model._queue(unit, {"kind": "relation_changed", "relation_id": peer, "remote_unit": None})
        assert len(model.units[unit]["queue"]) == 2


class TestLeadership:
    def setup_units(self) -> tuple[Model, list[str]]:
        model, _ = model_with_peers("0", "1", "2")
        units = [model.admit_unit("db", machine) for machine in ("0", "1", "2")]
        for unit in units:
            run_queue(model, unit)
        return model, units

    def test_the_lease_of_a_dead_leader_runs_out_before_another_unit_leads(self):
        model, (leader, other, third) = self.setup_units()
        kill(model, "0", at=T0)
        model.catch_up(T0 + 59)
        assert model.apps["db"]["leader"] == leader
        assert model.leadership_pending() and not model.idle()

        model.catch_up(T0 + 60)
        assert model.apps["db"]["leader"] == other
        assert kinds(model, other) == [("leader_elected",)]
        assert kinds(model, third) == [("leader_settings_changed",)]
        assert kinds(model, leader) == []  # its agent is dead: it never hears of it
        assert not model.leadership_pending()

    def test_the_old_leader_comes_back_as_a_follower(self):
        model, (leader, other, _) = self.setup_units()
        kill(model, "0", at=T0)
        model.catch_up(T0 + 60)
        model.data["machines"]["0"].update(state="started", down_since=None)
        model.catch_up(T0 + 90)
        assert kinds(model, leader) == [("leader_settings_changed",)]
        assert model.apps["db"]["leader"] == other

    def test_the_lease_timeout_is_model_config(self):
        model, (_, other, _) = self.setup_units()
        model.set_model_config({"leader-lease-timeout": "30s"}, now=T0)
        kill(model, "0", at=T0)
        model.catch_up(T0 + 30)
        assert model.apps["db"]["leader"] == other

    def test_an_application_whose_units_are_all_down_is_led_by_the_first_back(self):
        model, (leader, other, third) = self.setup_units()
        for machine in ("0", "1", "2"):
            kill(model, machine, at=T0)
        model.catch_up(T0 + 60)
        assert model.apps["db"]["leader"] is None and not model.leadership_pending()
        model.data["machines"]["2"].update(state="started", down_since=None)
        model.catch_up(T0 + 61)
        assert model.apps["db"]["leader"] == third
        assert kinds(model, third) == [("leader_elected",)]


class TestUpdateStatus:
    def test_it_fires_on_each_started_unit_at_the_interval_with_juju_jitter(self):
        model, _ = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        assert model.units[unit]["next_update_status"] is None  # not before start
        for event in list(model.units[unit]["queue"]):
            model.units[unit]["queue"].pop(0)
            model._after_hook(unit, event, {"ok": True})
        due = model.units[unit]["next_update_status"]
        assert due is not None
        model.catch_up(due - 1)
        assert kinds(model, unit) == []
        model.catch_up(due)
        assert kinds(model, unit) == [("update_status",)]
        assert 0.8 * 300 <= model.units[unit]["next_update_status"] - due <= 1.2 * 300

    def test_a_down_machine_runs_none_and_a_new_interval_restarts_the_timers(self):
        model, _ = model_with_peers("0", "1")
        units = [model.admit_unit("db", machine) for machine in ("0", "1")]
        for unit in units:
            run_queue(model, unit)
        kill(model, "1", at=T0)
        model.set_model_config({"update-status-hook-interval": "1m"}, now=T0)
        assert 48 <= model.units[units[0]]["next_update_status"] - T0 <= 72
        model.catch_up(T0 + 3600)
        assert kinds(model, units[0]) == [("update_status",)]
        assert kinds(model, units[1]) == []


class TestModelConfig:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("30s", "update status hook frequency 30s cannot be less than 1m"),
            ("61m", "update status hook frequency 61m cannot be greater than 60m"),
            ("soon", 'time: invalid duration "soon"'),
        ],
    )
    def test_update_status_interval_is_refused_where_juju_refuses_it(self, value, message):
        with pytest.raises(LabError) as refused:
            checked_model_config("update-status-hook-interval", value)
        assert str(refused.value) == message

    def test_go_durations_are_accepted(self):
        assert checked_model_config("update-status-hook-interval", "1m30s") == "1m30s"
        with pytest.raises(LabError, match="unknown model config key"):
            checked_model_config("update-status-hook-period", "5m")


class TestApplicationStatus:
    def test_derived_from_the_most_severe_unit_status(self):
        statuses = [
            {"name": "active", "message": ""},
            {"name": "waiting", "message": "for peers"},
            {"name": "blocked", "message": "no CA"},
            {"name": "blocked", "message": "later"},
        ]
        assert derived_status(statuses) == {"name": "blocked", "message": "no CA"}
        assert derived_status([]) == {"name": "unknown", "message": ""}

    def test_the_leader_status_wins_and_a_lost_agent_counts_as_unknown(self):
        model, _ = model_with_peers("0", "1")
        first, second = model.admit_unit("db", "0"), model.admit_unit("db", "1")
        model.units[first]["status"] = {"name": "active", "message": ""}
        model.units[second]["status"] = {"name": "maintenance", "message": "installing"}
        assert model.application_status("db") == {"name": "maintenance", "message": "installing"}
        kill(model, "1", at=T0)
        assert model.application_status("db") == {"name": "active", "message": ""}
        model.apps["db"]["status"] = {"name": "blocked", "message": "set by the leader"}
        assert model.application_status("db") == {"name": "blocked", "message": "set by the leader"}



class TestStatusLog:
    def test_each_change_is_kept_in_order_and_a_repeat_is_not(self):
        model, _ = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        for status in [("blocked", "expired"), ("blocked", "expired"), ("active", "")]:
            model._set_status(unit, {"name": status[0], "message": status[1]})

        assert [(entry["name"], entry["message"]) for entry in model.status_log(unit)] == [
            ("blocked", "expired"), ("active", ""),
        ]
        assert model.workload_status(unit) == {"name": "active", "message": ""}

    def test_only_the_last_statuses_are_kept(self):
        model, _ = model_with_peers("0")
        unit = model.admit_unit("db", "0")
        for n in range(STATUS_HISTORY + 5):
            model._set_status(unit, {"name": "waiting", "message": str(n)})

        log = model.status_log(unit)
        assert len(log) == STATUS_HISTORY and log[-1]["message"] == str(STATUS_HISTORY + 4)

    def test_an_unknown_unit_is_refused(self):
        model, _ = model_with_peers("0")
        with pytest.raises(LabError, match='unit "db/7" not found'):
            model.status_log("db/7")


class TestActionParameters:
    def check(self, action: str, **params):
        return checked_params(action, CENTRAL_ACTIONS[action], params)

    def refusal(self, action: str, **params) -> str:
        with pytest.raises(ActionParamsError) as refused:
            self.check(action, **params)
        return str(refused.value)

    def test_defaults_are_filled_in(self):
        assert self.check("status") == {"format": "text"}
        assert self.check("cluster-kick", **{"nb-server-id": "4302"}) == {
            "nb-server-id": "4302", "i-really-mean-it": False,
        }

    def test_a_wrong_type_is_refused_as_juju_words_it(self):
        assert self.refusal("cluster-kick", **{"nb-server-id": 4302}) == (
            "validation failed: (root).nb-server-id : must be of type string, given 4302"
        )

    def test_an_unknown_enum_value_is_refused(self):
        assert self.refusal("status", format="yaml") == (
            'validation failed: (root).format : must match one of the enum values ["text","json"], given "yaml"'
        )

    def test_a_missing_required_parameter_is_refused(self):
        assert self.refusal("reissue-certificates") == (
            'validation failed: (root) : "service" property is missing and required, given {}'
        )

    def test_unknown_parameters_are_refused_even_where_the_action_does_not_say_so(self):
        spec = {"description": "no word on additionalProperties", "params": {"a": {"type": "string"}}}
        with pytest.raises(ActionParamsError) as refused:
            checked_params("plain", spec, {"b": 1})
        assert str(refused.value) == 'validation failed: (root) : additional property "b" is not allowed, given {"b":1}'

    def test_every_error_is_reported_root_first(self):
        assert self.refusal("reissue-certificates", extra=True) == (
            'validation failed: (root) : "service" property is missing and required, given {"extra":true}; '
            '(root) : additional property "extra" is not allowed, given {"extra":true}'
        )


# --- subordinates, container scope, relation removal --------------------------------------

METAS = {
    "chassis": {"requires": {"ovsdb": {"interface": "ovsdb"}}},
    "central": {"provides": {"ovsdb": {"interface": "ovsdb"}}, "peers": {"cluster": {"interface": "central-peers"}}},
    "bgp": {
        "subordinate": True,
        "requires": {
            "chassis": {"interface": "juju-info", "scope": "container"},
            "ovsdb": {"interface": "ovsdb"},
        },
        "peers": {"bgp-peers": {"interface": "bgp-peers"}},
    },
}


def model_with_subordinate(*machine_ids: str) -> tuple[Model, str]:
    """chassis units on the machines (one each), central on machine 0, bgp deployed (no units)."""
    model = Model.new("unit")
    model.meta = METAS.__getitem__  # the charms' metadata without packing them
    for machine_id in machine_ids:
        model.data["machines"][machine_id] = {"host": f"h{machine_id}", "index": int(machine_id), "state": "started"}
    for app, meta in METAS.items():
        model.apps[app] = new_application("/nowhere", {}, {}, subordinate=bool(meta.get("subordinate")))
    model._new_relation([("central", "cluster")], "central-peers", peer=True)
    bgp_peers = model._new_relation([("bgp", "bgp-peers")], "bgp-peers", peer=True)
    for machine_id in machine_ids:
        run_queue(model, model.admit_unit("chassis", machine_id))
    run_queue(model, model.admit_unit("central", "0"))
    return model, bgp_peers


def relation_between(model: Model, key: str) -> str:
    rid = model._find_relation(key)
    assert rid is not None, key
    return rid


def run_all(model: Model) -> None:
    while model.pending():
        for unit in list(model.pending()):
            run_queue(model, unit)


class TestImplicitJujuInfo:
    ENDPOINTS = {app: endpoints_of(meta) for app, meta in METAS.items()}

    def infer(self, a: str, b: str):
        return infer_endpoints(a, b, self.ENDPOINTS, {"bgp"})

    def test_every_charm_provides_it(self):
        assert self.ENDPOINTS["central"]["juju-info"] == {"role": "provides", "interface": "juju-info", "scope": "global"}

    def test_a_subordinate_finds_it_with_or_without_the_endpoint_names(self):
        expected = (("bgp", "chassis"), ("chassis", "juju-info"))
        assert self.infer("bgp:chassis", "chassis:juju-info") == expected
        assert self.infer("bgp:chassis", "chassis") == expected
        assert self.infer("bgp", "chassis") == expected
        assert self.infer("chassis", "bgp:chassis") == (("chassis", "juju-info"), ("bgp", "chassis"))

    def test_an_explicit_endpoint_wins_over_the_implicit_one(self):
        assert self.infer("bgp", "central") == (("bgp", "ovsdb"), ("central", "ovsdb"))

    def test_a_container_scoped_endpoint_needs_a_subordinate(self):
        with pytest.raises(LabError, match="^no relations found$"):
            infer_endpoints("bgp:chassis", "chassis", self.ENDPOINTS, subordinates=set())

    def test_ambiguity_is_refused_in_juju_words(self):
        endpoints = {
            "a": endpoints_of({"requires": {"x": {"interface": "i"}, "y": {"interface": "i"}}}),
            "b": endpoints_of({"provides": {"z": {"interface": "i"}}}),
        }
        with pytest.raises(LabError) as refused:
            infer_endpoints("a", "b", endpoints, set())
        assert str(refused.value) == 'ambiguous relation: "a b" could refer to "a:x b:z"; "a:y b:z"'

    def test_unknown_applications_and_endpoints_are_refused(self):
        with pytest.raises(LabError, match='application "nope" not found'):
            self.infer("nope", "chassis")
        with pytest.raises(LabError, match='application "bgp" has no "nope" relation'):
            self.infer("bgp:nope", "chassis")


    def test_a_consumed_offer_has_only_the_offered_endpoint(self):
        model, _ = model_with_subordinate("0")
        model.apps["remote-central"] = Model._proxy_app("/nowhere", "other", "central", "ovsdb")
        model.meta = {**METAS, "remote-central": METAS["central"]}.__getitem__
        assert model._infer_endpoints("bgp", "remote-central") == (("bgp", "ovsdb"), ("remote-central", "ovsdb"))
        with pytest.raises(LabError, match="^no relations found$"):
            model._infer_endpoints("bgp:chassis", "remote-central")


class TestSubordinates:
    def test_relating_admits_one_unit_per_principal_unit_on_its_machine_in_hook_order(self):
        model, peers = model_with_subordinate("0", "1")
        new_units = model.record_relation("bgp:chassis", "chassis")
        container = relation_between(model, "bgp:chassis chassis:juju-info")
        assert new_units == ["bgp/0", "bgp/1"]
        assert [model.units[u]["machine"] for u in new_units] == ["0", "1"]
        assert [model.units[u]["principal"] for u in new_units] == ["chassis/0", "chassis/1"]
        assert kinds(model, "bgp/0") == [
            ("install",),
            ("relation_created", peers),
            ("relation_created", container),
            ("leader_elected",),
            ("config_changed",),
            ("start",),
            ("relation_joined", container, "chassis/0"),
            ("relation_changed", container, "chassis/0"),
            ("relation_joined", peers, "bgp/1"),
            ("relation_changed", peers, "bgp/1"),
        ]
        assert kinds(model, "bgp/1") == [
            ("install",),
            ("relation_created", peers),
            ("relation_created", container),
            ("leader_settings_changed",),
            ("config_changed",),
            ("start",),
            ("relation_joined", peers, "bgp/0"),
            ("relation_changed", peers, "bgp/0"),
            ("relation_joined", container, "chassis/1"),
            ("relation_changed", container, "chassis/1"),
        ]

    def test_in_a_container_scoped_relation_units_see_only_their_own_counterpart(self):
        model, _ = model_with_subordinate("0", "1")
        model.record_relation("bgp", "chassis")
        container = relation_between(model, "bgp:chassis chassis:juju-info")
        run_all(model)
        seen = model.data["relations"][container]["seen"]
        assert seen == {"chassis/0": ["bgp/0"], "chassis/1": ["bgp/1"], "bgp/0": ["chassis/0"], "bgp/1": ["chassis/1"]}

    def test_other_relations_of_a_subordinate_are_global(self):
        model, _ = model_with_subordinate("0", "1")
        model.record_relation("bgp", "chassis")
        model.record_relation("bgp", "central")
        run_all(model)
        ovsdb = relation_between(model, "bgp:ovsdb central:ovsdb")
        assert model.data["relations"][ovsdb]["seen"]["central/0"] == ["bgp/0", "bgp/1"]

    def test_a_new_principal_unit_brings_its_subordinate_unit(self):
        model, _ = model_with_subordinate("0", "1", "2")
        model.record_relation("bgp", "chassis")
        model.remove_unit("chassis/1")
        principal = model.admit_unit("chassis", "2")
        assert principal == "chassis/3" and model.admit_subordinates_of(principal) == ["bgp/3"]
        assert model.units["bgp/3"]["machine"] == "2"

    def test_removing_the_principal_removes_its_subordinate_first(self):
        model, peers = model_with_subordinate("0", "1")
        model.record_relation("bgp", "chassis")
        container = relation_between(model, "bgp:chassis chassis:juju-info")
        run_all(model)
        model.remove_unit("chassis/0")
        assert kinds(model, "bgp/0") == [
            ("relation_departed", peers, "bgp/1"),
            ("relation_broken", peers),
            ("relation_departed", container, "chassis/0"),
            ("relation_broken", container),
            ("stop",),
            ("remove",),
        ]
        assert kinds(model, "bgp/1") == [("relation_departed", peers, "bgp/0")]
        assert kinds(model, "chassis/0")[0] == ("relation_departed", container, "bgp/0")
        assert kinds(model, "chassis/0")[-2:] == [("stop",), ("remove",)]
        assert kinds(model, "chassis/1") == []

    def test_removing_the_container_relation_removes_the_subordinate_units(self):
        model, peers = model_with_subordinate("0", "1")
        model.record_relation("bgp", "chassis")
        container = relation_between(model, "bgp:chassis chassis:juju-info")
        run_all(model)
        model.remove_relation("chassis", "bgp")
        assert kinds(model, "chassis/0") == [("relation_departed", container, "bgp/0"), ("relation_broken", container)]
        assert kinds(model, "bgp/0") == [
            ("relation_departed", container, "chassis/0"),
            ("relation_broken", container),
            ("relation_departed", peers, "bgp/1"),
            ("relation_broken", peers),
            ("stop",),
            ("remove",),
        ]
        run_all(model)
        assert container not in model.data["relations"]
        assert model.apps["bgp"]["units"] == []
        assert model.record_relation("bgp", "chassis") == ["bgp/2", "bgp/3"]  # numbers are never reused

    def test_removing_a_global_relation_departs_and_breaks_every_member(self):
        model, _ = model_with_subordinate("0")
        model.record_relation("chassis", "central")
        ovsdb = relation_between(model, "central:ovsdb chassis:ovsdb")
        run_all(model)
        model.remove_relation("chassis:ovsdb", "central:ovsdb")
        assert kinds(model, "chassis/0") == [("relation_departed", ovsdb, "central/0"), ("relation_broken", ovsdb)]
        assert kinds(model, "central/0") == [("relation_departed", ovsdb, "chassis/0"), ("relation_broken", ovsdb)]
        with pytest.raises(LabError, match='relation "central:ovsdb chassis:ovsdb" not found'):
            model.remove_relation("chassis", "central")

    def test_a_relation_is_added_once(self):
        model, _ = model_with_subordinate("0")
        model.record_relation("chassis", "central")
        with pytest.raises(LabError, match="already exists"):
            model.record_relation("central", "chassis:ovsdb")

    def test_add_unit_is_refused_as_juju_refuses_it(self):
        model, _ = model_with_subordinate("0")
        with pytest.raises(LabError) as refused:
            model.add_unit("bgp", "0")
        assert str(refused.value) == 'cannot add unit to application "bgp": application is a subordinate'

    def test_remove_unit_of_a_subordinate_is_refused_as_juju_refuses_it(self):
        model, _ = model_with_subordinate("0")
        model.record_relation("bgp", "chassis")
        with pytest.raises(LabError) as refused:
            model.remove_principal_unit("bgp/0")
        assert str(refused.value) == (
            'unit "bgp/0" is a subordinate, to remove use remove-relation. Note: this will remove all units of "bgp"'
        )
        model.remove_principal_unit("chassis/0")
        assert model.units["bgp/0"]["dying"]

    def test_a_bundle_giving_a_subordinate_units_is_refused_in_juju_words(self):
        applications = {"bgp": {"charm": "x", "num_units": 2, "to": ["0"]}, "chassis": {"num_units": 1}}
        assert subordinate_errors(applications, {"bgp"}) == [
            'application "bgp" is subordinate but specifies unit placement',
            'application "bgp" is subordinate but has non-zero num_units',
        ]
        assert subordinate_errors({"bgp": {"charm": "x"}}, {"bgp"}) == []

    def test_units_on_one_machine_never_run_hooks_at_the_same_time(self):
        model, _ = model_with_subordinate("0", "1")
        model.record_relation("bgp", "chassis")
        assert model.pending().keys() == {"chassis/0", "chassis/1", "bgp/0", "bgp/1"}
        # One unit per machine: the one whose next event is oldest (the principals' relation-created).
        assert sorted(model.runnable(busy_machines=set())) == ["chassis/0", "chassis/1"]
        assert model.runnable(busy_machines={"1"}) == ["chassis/0"]
        run_queue(model, "chassis/0")
        assert model.runnable(busy_machines={"1"}) == ["bgp/0"]


class TestOverlays:
    BUNDLE = {
        "machines": {"0": {}},
        "applications": {
            "central": {"charm": "./charms/central", "num_units": 1, "options": {"a": 1, "b": 2}},
            "ca": {"charm": "./charms/ca", "num_units": 1},
        },
        "relations": [["central:certificates", "ca:certificates"]],
    }

    def test_applications_merge_key_by_key_and_relations_append(self, tmp_path):
        overlay = {
            "machines": {"1": {}},
            "applications": {
                "central": {"num_units": 3, "options": {"b": 20, "c": 30}},
                "bgp": {"charm": "../charms/bgp"},
            },
            "relations": [["bgp", "central"]],
        }
        merged = merge_overlay(self.BUNDLE, overlay, tmp_path / "overlays")
        assert merged["machines"] == {"0": {}, "1": {}}
        assert merged["applications"]["central"] == {
            "charm": "./charms/central", "num_units": 3, "options": {"a": 1, "b": 20, "c": 30},
        }
        assert merged["applications"]["bgp"] == {"charm": str(tmp_path / "charms/bgp")}
        assert merged["relations"] == [["central:certificates", "ca:certificates"], ["bgp", "central"]]
        assert self.BUNDLE["applications"]["central"]["options"] == {"a": 1, "b": 2}  # the input stays as it was

    def test_an_application_without_a_value_is_removed_with_its_relations(self, tmp_path):
        merged = merge_overlay(self.BUNDLE, {"applications": {"ca": None}}, tmp_path)
        assert list(merged["applications"]) == ["central"]
        assert merged["relations"] == []


class TestLinkNames:
    @pytest.mark.parametrize("name", ["swp1", "ext-b", "a" * 15, "eth0.100", "v_x"])
    def test_linux_names_are_taken(self, name):
        assert checked_interface_name(name) == name

    @pytest.mark.parametrize("name", ["", "a" * 16, ".", "..", "a/b", "a:b", "a b"])
    def test_names_linux_refuses_are_refused(self, name):
        with pytest.raises(LabError, match="invalid interface name"):
            checked_interface_name(name)

    def test_a_name_used_on_a_machine_is_refused(self):
        links = [{"a": ["0", "swp1"], "b": ["1", "swp1"]}]
        assert link_name_clash(links, [("0", "swp2"), ("1", "swp2")]) is None
        assert link_name_clash(links, [("2", "swp1"), ("1", "swp1")]) == "machine 1 already has an interface 'swp1'"
        assert link_name_clash([], [("0", "x"), ("0", "x")]) == "machine 0 already has an interface 'x'"


class TestRerunHook:
    def test_a_relation_hook_runs_again_about_a_remote_unit_the_unit_knows(self):
        model, peer = model_with_peers("0", "1")
        first, second = model.admit_unit("db", "0"), model.admit_unit("db", "1")
        run_queue(model, first)
        run_queue(model, second)

        model.rerun_hook(first, "relation-changed:cluster")
        model.rerun_hook(first, "config-changed")

        assert kinds(model, first) == [("relation_changed", peer, second), ("config_changed",)]

    def test_an_unknown_hook_or_endpoint_is_refused(self):
        model, _ = model_with_peers("0")
        unit = model.admit_unit("db", "0")

        with pytest.raises(LabError, match="cannot run 'remove' again"):
            model.rerun_hook(unit, "remove")
        with pytest.raises(LabError, match="db/0 has no relation on endpoint 'nowhere'"):
            model.rerun_hook(unit, "relation-changed:nowhere")


class TestNetworkGet:
    """network-get as Juju answers it on a dual-stack machine: IPv4 preferred (core/network)."""

    CONTEXT = {"state": {"networks": [{
        "binding_name": "db", "interface": "br-phy", "egress_subnets": ["10.99.0.10/32", "fd99::10/128"],
        "addresses": [{"value": "10.99.0.10", "cidr": "10.99.0.0/24"}, {"value": "fd99::10", "cidr": "fd99::/64"}],
    }]}}

    def test_the_bind_and_ingress_addresses_put_ipv4_first_and_list_both(self):
        assert hooktools.network_get(self.CONTEXT, ["db", "--bind-address"]) == "10.99.0.10"
        assert json.loads(hooktools.network_get(self.CONTEXT, ["db", "--ingress-address", "--format=json"])) == [
            "10.99.0.10", "fd99::10",
        ]
        info = json.loads(hooktools.network_get(self.CONTEXT, ["db", "--format=json"]))
        assert [a["value"] for a in info["bind-addresses"][0]["addresses"]] == ["10.99.0.10", "fd99::10"]
        assert info["egress-subnets"] == ["10.99.0.10/32", "fd99::10/128"]

    def test_an_unknown_binding_is_refused_as_juju_does(self):
        with pytest.raises(hooktools.ToolError, match='no network config found for binding "web"'):
            hooktools.network_get(self.CONTEXT, ["web"])


class TestUnderlayAddresses:
    def test_each_underlay_gives_the_families_juju_would_see_ipv4_first(self):
        assert network.addresses("lab0", 0, "ipv4") == ["10.99.0.10"]
        assert network.addresses("lab0", 0, "ipv6") == ["fd99::10"]
        assert network.addresses("lab1", 3, "dual") == ["10.99.1.13", "fd99:0:0:1::13"]
        assert (network.subnet("fd99:0:0:1::13"), network.host_cidr("fd99::10")) == ("fd99:0:0:1::/64", "fd99::10/128")

    def test_an_unknown_underlay_is_refused(self):
        with pytest.raises(ValueError, match="unknown underlay 'ipv5'"):
            network.addresses("lab0", 0, "ipv5")
