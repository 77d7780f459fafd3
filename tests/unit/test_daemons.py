from pathlib import Path

import pytest

from charmed_ovn import daemons, maintenance, paths, services
from charmed_ovn.databases import NB, SB

FILES = paths.CharmFiles(Path("/var/lib/charmed-ovn/ovn-central"))


def test_server_argv_runs_the_nb_database_through_ovn_ctl():
    argv = daemons.server_argv(NB, "10.0.0.1", FILES)
    assert argv[:2] == ["/usr/share/ovn/scripts/ovn-ctl", "run_nb_ovsdb"]


def test_server_argv_binds_raft_to_the_local_address_over_ssl_on_6643():
    argv = daemons.server_argv(NB, "10.0.0.1", FILES)
    assert "--db-nb-cluster-local-addr=10.0.0.1" in argv
    assert "--db-nb-cluster-local-proto=ssl" in argv
    assert "--db-nb-cluster-local-port=6643" in argv


def test_server_argv_sb_uses_raft_port_6644():
    argv = daemons.server_argv(SB, "10.0.0.1", FILES)
    assert argv[1] == "run_sb_ovsdb"
    assert "--db-sb-cluster-local-port=6644" in argv
    assert "--db-sb-cluster-local-proto=ssl" in argv


def test_server_argv_brackets_an_ipv6_local_address():
    argv = daemons.server_argv(NB, "fd00::1", FILES)
    assert "--db-nb-cluster-local-addr=[fd00::1]" in argv


def test_server_argv_creates_no_insecure_remote():
    argv = daemons.server_argv(NB, "10.0.0.1", FILES)
    assert "--db-nb-create-insecure-remote=no" in argv
    assert "--db-nb-create-insecure-remote=yes" not in argv
    assert not any("ptcp:" in arg or "tcp:" in arg for arg in argv)


def test_server_argv_ignores_remotes_configured_in_the_database():
    assert "--db-nb-use-remote-in-db=no" in daemons.server_argv(NB, "10.0.0.1", FILES)


def test_server_argv_turns_schema_upgrade_off():
    assert "--db-cluster-schema-upgrade=no" in daemons.server_argv(NB, "10.0.0.1", FILES)


def test_server_argv_uses_the_databases_certificate_files():
    argv = daemons.server_argv(SB, "10.0.0.1", FILES)
    assert "--ovn-sb-db-ssl-key=/var/lib/charmed-ovn/ovn-central/pki/ovnsb-privkey.pem" in argv
    assert "--ovn-sb-db-ssl-cert=/var/lib/charmed-ovn/ovn-central/pki/ovnsb-cert.pem" in argv
    assert "--ovn-sb-db-ssl-ca-cert=/var/lib/charmed-ovn/ovn-central/pki/cacert.pem" in argv


@pytest.mark.parametrize("db", [NB, SB], ids=["nb", "sb"])
def test_server_argv_takes_its_listeners_from_its_own_listener_database_after_a_double_dash(db):
    # ovn-ctl appends the clustered database's file: the listener database is served beside it
    argv = daemons.server_argv(db, "10.0.0.1", FILES)
    assert argv[-3:] == [
        "--",
        "--remote=db:Charmed_OVN_Listeners,Server,listeners",
        f"/var/lib/charmed-ovn/ovn-central/{db.short}-listeners.db",
    ]
    assert not any(arg.startswith("--remote=pssl") for arg in argv)


def test_northd_argv_starts_northd_without_managing_the_databases():
    argv = daemons.northd_argv(["10.0.0.1"], FILES)
    assert argv[:2] == ["/usr/share/ovn/scripts/ovn-ctl", "start_northd"]
    assert "--ovn-manage-ovsdb=no" in argv


def test_northd_argv_reaches_every_member_on_6641_and_on_the_southbound_listener_without_rbac():
    argv = daemons.northd_argv(["10.0.0.3", "10.0.0.1", "10.0.0.2"], FILES)
    assert "--ovn-northd-nb-db=ssl:10.0.0.1:6641,ssl:10.0.0.2:6641,ssl:10.0.0.3:6641" in argv
    assert "--ovn-northd-sb-db=ssl:10.0.0.1:16642,ssl:10.0.0.2:16642,ssl:10.0.0.3:16642" in argv


def test_northd_argv_uses_the_northd_certificate_files():
    argv = daemons.northd_argv(["10.0.0.1"], FILES)
    assert "--ovn-northd-ssl-key=/var/lib/charmed-ovn/ovn-central/pki/ovn-northd-privkey.pem" in argv
    assert "--ovn-northd-ssl-cert=/var/lib/charmed-ovn/ovn-central/pki/ovn-northd-cert.pem" in argv
    assert "--ovn-northd-ssl-ca-cert=/var/lib/charmed-ovn/ovn-central/pki/cacert.pem" in argv


def test_northd_argv_has_no_insecure_remote():
    argv = daemons.northd_argv(["10.0.0.1", "fd00::1"], FILES)
    assert not any("tcp:" in arg or "unix:" in arg for arg in argv)


def test_northd_argv_leaves_out_the_default_single_thread_and_names_any_other_count():
    assert not any("n-threads" in arg for arg in daemons.northd_argv(["10.0.0.1"], FILES, 1))
    assert daemons.northd_argv(["10.0.0.1"], FILES, 4)[-1] == "--ovn-northd-n-threads=4"


def _northd_commands(members: list[str], threads: int) -> services.ExecCommands:
    return services.ExecCommands(daemons.northd_argv(members, FILES, threads), daemons.NORTHD_STOP_ARGV)


def _installed(commands: services.ExecCommands) -> services.ExecCommands | None:
    """The command lines as `run_northd` reads them back from the drop-in it wrote."""
    return services.parse_exec_drop_in(services.render_exec_drop_in(*commands))


@pytest.mark.parametrize(
    ("previous", "new", "restart"),
    [
        ((["10.0.0.1"], 1), (["10.0.0.1"], 4), False),
        ((["10.0.0.1"], 4), (["10.0.0.1"], 2), False),
        ((["10.0.0.1"], 4), (["10.0.0.1"], 1), False),
        ((["10.0.0.1"], 1), (["10.0.0.1", "10.0.0.2"], 1), True),
        ((["10.0.0.1"], 1), (["10.0.0.1", "10.0.0.2"], 2), True),
    ],
    ids=["threads-set", "threads-changed", "threads-back-to-default", "members", "members-and-threads"],
)
def test_northd_restarts_for_a_new_command_line_but_not_for_a_new_thread_count(previous, new, restart):
    assert daemons.restart_needed(_installed(_northd_commands(*previous)), _northd_commands(*new)) is restart


def test_a_first_northd_drop_in_means_a_restart():
    assert daemons.restart_needed(None, _northd_commands(["10.0.0.1"], 1))


def test_a_new_northd_stop_command_means_a_restart():
    previous = _northd_commands(["10.0.0.1"], 1)._replace(stop=[*daemons.NORTHD_STOP_ARGV[:2], "--no-monitor"])
    assert daemons.restart_needed(previous, _northd_commands(["10.0.0.1"], 1))


def test_restart_relevant_leaves_out_only_the_runtime_tunable_options():
    argv = ["ovn-ctl", "start_northd", "--ovn-northd-n-threads=4", "--ovn-northd-n-threads-extra=1"]
    assert daemons.restart_relevant(argv) == ["ovn-ctl", "start_northd", "--ovn-northd-n-threads-extra=1"]


def test_the_thread_count_is_a_runtime_tunable_option():
    option = daemons.northd_argv(["10.0.0.1"], FILES, 4)[-1].partition("=")[0]
    assert option in daemons.NORTHD_RUNTIME_OPTIONS


def test_northd_stop_leaves_the_database_servers_running():
    # ovn-ctl stop_northd stops both ovsdb-servers unless told they are not its to manage.
    assert "--ovn-manage-ovsdb=no" in daemons.NORTHD_STOP_ARGV
    assert daemons.NORTHD_STOP_ARGV[1] == "stop_northd"


def test_server_argv_runs_raft_on_its_own_address():
    argv = daemons.server_argv(SB, "10.0.0.1", FILES)
    assert "--db-sb-cluster-local-addr=10.0.0.1" in argv


@pytest.mark.parametrize(("output", "state"), [("Status: active\n", "active"), ("Status: standby\n", "standby"), ("", None)])
def test_parse_northd_status(output, state):
    assert daemons.parse_northd_status(output) == state


def test_a_server_not_rejoining_is_a_restart_error_the_restart_action_reports():
    assert issubclass(daemons.RejoinError, maintenance.RestartError)
