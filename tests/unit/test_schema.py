from charmed_ovn import schema


def test_version_of_a_schema_is_its_version_member():
    assert schema.version_of('{"name": "OVN_Northbound", "version": "7.11.0", "tables": {}}') == "7.11.0"


def test_version_of_a_schema_without_one_is_none():
    assert schema.version_of('{"name": "OVN_Northbound", "tables": {}}') is None
