"""The lab controller's Juju semantics, on in-memory models (no machines, no charm runs):
hook order, relation membership, leadership leases, update-status timers, model config,
application status and action parameters."""

from __future__ import annotations

import pytest
import yaml

from tests.lab.action_params import ActionParamsError, checked_params
from tests.lab.model import LabError, Model, checked_model_config, derived_status, new_application
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
