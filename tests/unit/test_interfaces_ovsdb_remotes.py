"""What a consumer of `ovsdb` accepts as the provider's connection strings and addresses."""

import pytest
from pydantic import ValidationError

from charmed_ovn.interfaces import InstalledOvn, ovsdb


@pytest.mark.parametrize(
    "connection",
    ["ssl:10.0.0.1:6642", "ssl:10.0.0.1:6642,ssl:[fd00::1]:6642", "ssl:central-0.maas:6641", ovsdb.connection_string(["10.0.0.2", "fd00::2"], 16642)],
)
def test_remotes_as_providers_write_them_are_accepted(connection):
    assert ovsdb.connection_problem(connection) is None


@pytest.mark.parametrize(
    ("connection", "problem"),
    [
        ("tcp:10.0.0.1:6642", "'tcp:10.0.0.1:6642' is not an ssl:<address>:<port> remote"),
        ("ssl:10.0.0.1:6642,", "'' is not an ssl:<address>:<port> remote"),
        ("ssl:10.0.0.1:99999", "'ssl:10.0.0.1:99999' is not an ssl:<address>:<port> remote"),
        ("ssl:[not::v6::]:6642", "'ssl:[not::v6::]:6642' is not an ssl:<address>:<port> remote"),
        ("ssl:$(reboot):6642", "'ssl:$(reboot):6642' is not an ssl:<address>:<port> remote"),
        ("x" * 100, f"{'x' * 32!r}... (100 characters) is not an ssl:<address>:<port> remote"),
    ],
)
def test_anything_else_is_said_shortly(connection, problem):
    assert ovsdb.connection_problem(connection) == problem


@pytest.mark.parametrize(("text", "address"), [("10.0.0.1", True), ("fd00::1", True), ("central-0", False), ("", False)])
def test_addresses_are_told_apart(text, address):
    assert ovsdb.is_address(text) is address


@pytest.mark.parametrize("version", ["not-a-version", "1" * 5000, "7.11.0; rm", "{\"a\": 1}"])
def test_a_schema_version_that_is_no_version_is_refused(version):
    with pytest.raises(ValidationError):
        InstalledOvn.model_validate({"nb-schema": version})


def test_schema_versions_as_ovn_writes_them_are_taken():
    assert InstalledOvn.model_validate({"nb-schema": "7.11.0", "sb-schema": ""}).nb_schema == "7.11.0"
