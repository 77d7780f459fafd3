import pytest

from charmed_ovn import schema

NBCTL_23_03 = "ovn-nbctl 23.03.1\nOpen vSwitch Library 3.1.0\nDB Schema 7.0.0\n"


def test_the_schema_version_is_the_db_schema_line_of_the_tools_version_output():
    assert schema.parse_tool_version(NBCTL_23_03) == "7.0.0"


def test_output_without_a_db_schema_line_has_no_schema_version():
    assert schema.parse_tool_version("ovs-vsctl (Open vSwitch) 3.5.0\n") is None


def test_versions_sort_numerically_not_as_text():
    assert schema.version_key("7.11.0") > schema.version_key("7.9.0")


@pytest.mark.parametrize(
    ("reported", "target", "readable"),
    [("7.11.0", "7.11.0", True), ("7.12.0", "7.11.0", True), ("7.0.0", "7.11.0", False), (None, "7.11.0", False)],
)
def test_a_unit_can_read_a_schema_as_new_as_its_own_or_older(reported, target, readable):
    assert schema.can_read(reported, target) is readable
