import pytest

from charmed_ovn import upgrade
from charmed_ovn.interfaces.central_cluster import CentralUnitData


def central(ovn: str = "25.03.0", upgrade_to: str = "") -> CentralUnitData:
    return CentralUnitData.model_validate({"ovn-version": ovn, "upgrade-to": upgrade_to})


def test_the_leader_upgrades_first():
    units = {"c/0": central(upgrade_to="25.03.0"), "c/1": central(upgrade_to="25.03.0"), "c/2": central(upgrade_to="25.03.0")}
    assert upgrade.next_turn(units, "", "c/1") == "c/1"


def test_then_the_lowest_numbered_unit_with_an_upgrade_pending():
    units = {"c/10": central(upgrade_to="25.03.0"), "c/9": central(upgrade_to="25.03.0"), "c/1": central()}
    assert upgrade.next_turn(units, "c/1", "c/1") == "c/9"


def test_the_unit_holding_the_turn_keeps_it_until_it_has_upgraded():
    units = {"c/0": central(upgrade_to="25.03.0"), "c/1": central(upgrade_to="25.03.0")}
    assert upgrade.next_turn(units, "c/1", "c/0") == "c/1"


def test_nobody_has_the_turn_when_every_unit_is_up_to_date():
    assert upgrade.next_turn({"c/0": central(), "c/1": central()}, "c/1", "c/0") == ""


def test_a_turn_held_by_a_departed_unit_passes_on():
    assert upgrade.next_turn({"c/0": central(upgrade_to="25.03.0")}, "c/3", "c/0") == "c/0"


@pytest.mark.parametrize(
    ("installed", "target", "major"),
    [("23.03.1", "25.03.0", True), ("25.03.0", "25.09.0", True), ("25.03.0", "25.03.1", False),
     ("25.03.0", "ovs3.5.1", False)],  # an Open vSwitch update alone
)
def test_a_major_upgrade_changes_the_release(installed, target, major):
    assert upgrade.is_major(installed, target) is major


def test_the_target_version_is_ovn_commons_upstream_version():
    assert upgrade.target_version({"ovn-central": "25.03.0-1", "ovn-common": "25.03.0-1"}) == "25.03.0"


def test_an_open_vswitch_update_alone_is_still_a_pending_upgrade():
    assert upgrade.target_version({"openvswitch-common": "3.5.1-1"}) == "ovs3.5.1"


def test_nothing_pending_has_no_target():
    assert upgrade.target_version({}) == ""


def test_a_database_is_converted_only_once_every_unit_reads_the_new_schema():
    plan = upgrade.plan_conversion("OVN_Northbound", "7.0.0", "7.11.0", {"c/0": "7.11.0", "ch/10": "7.0.0", "ch/2": ""})
    assert plan.needed and not plan.ready
    assert plan.waiting_for == ("ch/2", "ch/10")
    assert plan.describe() == (
        "upgrade or attention required: OVN_Northbound schema 7.0.0 -> 7.11.0 waits for ch/2, ch/10 to upgrade OVN"
    )


def test_a_database_every_unit_can_read_is_ready_to_convert():
    plan = upgrade.plan_conversion("OVN_Southbound", "20.27.0", "21.2.0", {"c/0": "21.2.0", "ch/0": "21.3.0"})
    assert plan.ready
    assert plan.describe().endswith(": the leader converts it")


@pytest.mark.parametrize(("active", "target"), [("7.11.0", "7.11.0"), (None, "7.11.0"), ("7.11.0", None), ("7.12.0", "7.11.0")])
def test_no_conversion_at_the_same_or_an_older_schema_or_when_unknown(active, target):
    assert not upgrade.plan_conversion("OVN_Northbound", active, target, {}).needed


def test_the_election_timer_is_raised_to_16_s_while_a_major_upgrade_is_ahead():
    units = {"c/0": central("23.03.1", upgrade_to="25.03.0"), "c/1": central("25.03.0")}
    assert upgrade.election_timer_ms(4000, units, []) == 16000
    assert upgrade.election_timer_ms(30000, units, []) == 30000


def test_the_election_timer_stays_raised_until_the_databases_are_converted():
    waiting = upgrade.plan_conversion("OVN_Northbound", "7.0.0", "7.11.0", {"c/0": "7.0.0"})
    assert upgrade.election_timer_ms(4000, {"c/0": central()}, [waiting]) == 16000


def test_the_configured_election_timer_once_nothing_is_upgrading():
    assert upgrade.election_timer_ms(4000, {"c/0": central(upgrade_to="25.03.1")}, []) == 4000


def test_a_chassis_next_to_a_central_unit_upgrades_in_the_central_units_turn():
    assert upgrade.moved_with_central({"ovn-central": "25.03.0-1", "ovn-host": "25.03.0-1"})
    assert not upgrade.moved_with_central({"ovn-host": "25.03.0-1"})


def test_a_unit_waiting_for_its_turn_says_who_upgrades():
    status = upgrade.turn_status("25.03.0", "c/0", "c/1")
    assert status is not None and status.message == "waiting for its turn to upgrade OVN to 25.03.0: c/0 upgrades"


def test_a_unit_with_nothing_pending_has_no_upgrade_status():
    assert upgrade.turn_status("", "c/0", "c/1") is None
