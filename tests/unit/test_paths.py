from pathlib import Path

from charmed_ovn import paths


def test_charm_files_root_is_the_app_directory_under_the_state_dir():
    assert paths.charm_files("ovn-central").root == Path("/var/lib/charmed-ovn/ovn-central")


def test_charm_files_pki_directory_is_under_the_root():
    assert paths.charm_files("ovn-central").pki == Path("/var/lib/charmed-ovn/ovn-central/pki")


def test_charm_files_ca_cert_is_cacert_pem_in_pki():
    assert paths.charm_files("ovn-chassis").ca_cert == Path("/var/lib/charmed-ovn/ovn-chassis/pki/cacert.pem")


def test_charm_files_client_env_is_in_the_root():
    assert paths.charm_files("ovn-chassis").client_env == Path("/var/lib/charmed-ovn/ovn-chassis/client.env")


def test_charm_files_service_files_use_microovn_names():
    files = paths.charm_files("ovn-central")
    assert files.certificate("ovnnb") == Path("/var/lib/charmed-ovn/ovn-central/pki/ovnnb-cert.pem")
    assert files.private_key("ovnnb") == Path("/var/lib/charmed-ovn/ovn-central/pki/ovnnb-privkey.pem")
    assert files.csr("ovnnb") == Path("/var/lib/charmed-ovn/ovn-central/pki/ovnnb.csr")


def test_charm_files_of_two_apps_share_no_path():
    central = paths.charm_files("ovn-central")
    chassis = paths.charm_files("ovn-chassis")
    central_paths = {central.ca_cert, central.client_env, central.certificate("client"), central.private_key("client")}
    chassis_paths = {chassis.ca_cert, chassis.client_env, chassis.certificate("client"), chassis.private_key("client")}
    assert central_paths.isdisjoint(chassis_paths)


def test_ports_are_ovn_defaults():
    assert (paths.NB_PORT, paths.SB_PORT, paths.NB_RAFT_PORT, paths.SB_RAFT_PORT) == (6641, 6642, 6643, 6644)
