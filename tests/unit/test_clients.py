import os
import shlex
import subprocess
from pathlib import Path

from charmed_ovn import clients, paths

FILES = paths.CharmFiles(Path("/var/lib/charmed-ovn/ovn-central"))
NB = "ssl:10.0.0.1:6641,ssl:[fd00::1]:6641"
SB = "ssl:10.0.0.1:6642,ssl:[fd00::1]:6642"


def _parse_env(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        (assignment,) = shlex.split(line)  # one shell word per line: the value is quoted
        key, _, value = assignment.partition("=")
        values[key] = value
    return values


def test_render_client_env_has_the_remotes_and_client_files():
    assert _parse_env(clients.render_client_env(NB, SB, FILES)) == {
        "OVN_NB_DB": NB,
        "OVN_SB_DB": SB,
        "OVN_CLIENT_KEY": "/var/lib/charmed-ovn/ovn-central/pki/client-privkey.pem",
        "OVN_CLIENT_CERT": "/var/lib/charmed-ovn/ovn-central/pki/client-cert.pem",
        "OVN_CA_CERT": "/var/lib/charmed-ovn/ovn-central/pki/cacert.pem",
    }


def test_render_client_env_uses_the_given_charm_files():
    files = paths.CharmFiles(Path("/srv/other app"))
    values = _parse_env(clients.render_client_env(NB, SB, files))
    assert values["OVN_CLIENT_KEY"] == "/srv/other app/pki/client-privkey.pem"
    assert values["OVN_CA_CERT"] == "/srv/other app/pki/cacert.pem"


def test_render_client_env_shell_quotes_values_with_shell_characters():
    text = clients.render_client_env(NB, SB, FILES)
    # brackets are glob characters: unquoted they could expand against the filesystem
    assert f"OVN_NB_DB={shlex.quote(NB)}\n" in text
    assert f"OVN_NB_DB={NB}\n" not in text


def test_render_client_env_quotes_hostile_values_so_sourcing_cannot_run_commands():
    hostile = "ssl:10.0.0.1:6641; touch /tmp/pwned $(id)"
    assert _parse_env(clients.render_client_env(hostile, SB, FILES))["OVN_NB_DB"] == hostile


def test_render_client_env_is_one_assignment_per_line():
    text = clients.render_client_env(NB, SB, FILES)
    assert text.endswith("\n")
    assert [line.split("=", 1)[0] for line in text.splitlines()] == [
        "OVN_NB_DB",
        "OVN_SB_DB",
        "OVN_CLIENT_KEY",
        "OVN_CLIENT_CERT",
        "OVN_CA_CERT",
    ]


def test_render_wrapper_is_a_sh_script():
    assert clients.render_wrapper("ovn-nbctl").startswith("#!/bin/sh\n")


def test_render_wrapper_reads_every_charms_client_env():
    assert "for env in /var/lib/charmed-ovn/*/client.env; do" in clients.render_wrapper("ovn-sbctl")


def test_render_wrapper_execs_the_tool_with_the_client_certificate():
    lines = [line.strip() for line in clients.render_wrapper("ovn-sbctl").splitlines()]
    with_cert = 'exec /usr/bin/ovn-sbctl -p "$OVN_CLIENT_KEY" -c "$OVN_CLIENT_CERT" -C "$OVN_CA_CERT" "$@"'
    assert with_cert in lines
    # inside the loop, after the env file is sourced with export, before the fallback
    assert lines.index("set -a; . \"$env\"; set +a") < lines.index(with_cert) < lines.index("done")


def test_render_wrapper_falls_back_to_the_plain_tool():
    lines = clients.render_wrapper("ovn-trace").splitlines()
    assert lines[-1] == 'exec /usr/bin/ovn-trace "$@"'


def test_render_wrapper_carries_the_managed_marker():
    assert clients.render_wrapper("ovn-nbctl").splitlines()[1].startswith("# Managed by the charmed OVN bundle")


def test_rendered_wrapper_runs_the_plain_tool_with_arguments_intact_when_no_client_env(tmp_path):
    # The wrapper hard-codes /usr/bin/<tool>; "/usr/bin/../../<tmp>/fake-tool" reaches a fake tool.
    assert not list(paths.STATE_DIR.glob("*/client.env")), "this machine has charmed OVN client settings"
    tool = tmp_path / "fake-tool"
    tool.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\n')
    tool.chmod(0o755)
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(clients.render_wrapper("../.." + str(tool)))
    args = ["--db=ssl:10.0.0.1:6641", "show", "two words", "$HOME", "*"]
    result = subprocess.run(
        ["sh", str(wrapper), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=5,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    assert result.stdout.splitlines() == args
