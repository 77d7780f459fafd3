from pathlib import Path

import pytest

from charmed_ovn import services


def test_source_line_is_none_for_an_empty_source():
    assert services.source_line("") is None


def test_source_line_is_none_for_a_blank_source():
    assert services.source_line("  \n") is None


def test_source_line_turns_a_cloud_pocket_into_a_cloud_archive_line():
    assert services.source_line("cloud:noble-epoxy") == (
        "deb http://ubuntu-cloud.archive.canonical.com/ubuntu noble-updates/epoxy main"
    )


def test_source_line_strips_whitespace_around_a_cloud_pocket():
    assert services.source_line("  cloud:jammy-caracal\n") == (
        "deb http://ubuntu-cloud.archive.canonical.com/ubuntu jammy-updates/caracal main"
    )


def test_source_line_passes_a_deb_line_through():
    line = "deb [signed-by=/usr/share/keyrings/ovn.gpg] http://ppa.launchpadcontent.net/o/ovn/ubuntu noble main"
    assert services.source_line(line) == line


@pytest.mark.parametrize(
    "source",
    ["garbage", "ppa:ovn/stable", "cloud:noble", "cloud:Noble-Epoxy", "deb http://archive.example", "debhttp://x y z"],
)
def test_source_line_rejects_garbage_with_a_message_naming_ovn_source(source):
    with pytest.raises(services.SourceError) as excinfo:
        services.source_line(source)
    assert "ovn-source" in str(excinfo.value)
    assert repr(source) in str(excinfo.value)


def test_render_exec_drop_in_clears_exec_start_then_sets_it():
    text = services.render_exec_drop_in(["/usr/share/ovn/scripts/ovn-ctl", "run_nb_ovsdb", "--", "--remote=x"])
    lines = text.splitlines()
    assert "[Service]" in lines
    clear = lines.index("ExecStart=")
    assert lines[clear + 1] == "ExecStart=/usr/share/ovn/scripts/ovn-ctl run_nb_ovsdb -- --remote=x"
    assert lines.index("[Service]") < clear
    assert [line for line in lines if line.startswith("ExecStart=")] == [
        "ExecStart=",
        "ExecStart=/usr/share/ovn/scripts/ovn-ctl run_nb_ovsdb -- --remote=x",
    ]


def test_render_exec_drop_in_ends_with_a_newline_and_marks_itself_managed():
    text = services.render_exec_drop_in(["/bin/true"])
    assert text.endswith("\n")
    assert text.startswith("# Managed by the charmed OVN bundle")


def test_render_exec_drop_in_without_stop_keeps_the_units_exec_stop():
    assert "ExecStop" not in services.render_exec_drop_in(["/bin/true"])


def test_render_exec_drop_in_replaces_exec_stop_when_given():
    lines = services.render_exec_drop_in(["/bin/true"], ["/bin/false", "--now"]).splitlines()
    assert lines[lines.index("ExecStop="):] == ["ExecStop=", "ExecStop=/bin/false --now"]


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (["/usr/share/ovn/scripts/ovn-ctl", "run_nb_ovsdb", "--", "--remote=pssl:6641:[fd00::1]"], None),
        (["/usr/share/ovn/scripts/ovn-ctl", "start_northd", "--ovn-northd-nb-db=ssl:10.0.0.1:6641,ssl:10.0.0.2:6641"],
         ["/usr/share/ovn/scripts/ovn-ctl", "stop_northd", "--ovn-manage-ovsdb=no"]),
    ],
    ids=["start-only", "start-and-stop"],
)
def test_parse_exec_drop_in_reads_back_the_command_lines_render_exec_drop_in_wrote(start, stop):
    parsed = services.parse_exec_drop_in(services.render_exec_drop_in(start, stop))
    assert parsed == services.ExecCommands(start, stop)


def test_parse_exec_drop_in_splits_quoted_arguments_as_systemd_does():
    text = "[Service]\nExecStart=\nExecStart=/bin/echo 'two words' --x=\"a b\"\n"
    assert services.parse_exec_drop_in(text) == services.ExecCommands(["/bin/echo", "two words", "--x=a b"])


def test_parse_exec_drop_in_is_none_without_a_start_command():
    assert services.parse_exec_drop_in("[Service]\nExecStart=\nExecStop=/bin/false\n") is None


def test_drop_in_path_is_in_the_units_drop_in_directory():
    assert services.drop_in_path("ovn-northd.service") == Path(
        "/etc/systemd/system/ovn-northd.service.d/10-charmed-ovn.conf"
    )


MADISON = """\
ovn-common | 25.03.0-1 | file:/srv/lab-apt/trixie ./ Packages
ovn-common | 23.03.1-1~deb12u2 | file:/srv/lab-apt/ovn-23.03 ./ Packages
ovn-central | 25.03.0-1 | file:/srv/lab-apt/trixie ./ Packages
ovn-central | 23.03.1-1~deb12u2 | file:/srv/lab-apt/ovn-23.03 ./ Packages
openvswitch-common | 3.5.0-1+b1 | file:/srv/lab-apt/trixie ./ Packages
"""

POLICY = """\
ovn-common:
  Installed: 23.03.1-1~deb12u2
  Candidate: 25.03.0-1
  Version table:
     25.03.0-1 500
        500 file:/srv/lab-apt/trixie ./ Packages
 *** 23.03.1-1~deb12u2 100
        100 /var/lib/dpkg/status
ovn-host:
  Installed: (none)
  Candidate: 25.03.0-1
  Version table:
     25.03.0-1 500
        500 file:/srv/lab-apt/trixie ./ Packages
openvswitch-common:
  Installed: 3.5.0-1+b1
  Candidate: 3.5.0-1+b1
  Version table:
 *** 3.5.0-1+b1 500
        500 file:/srv/lab-apt/trixie ./ Packages
"""


def test_the_source_uri_of_a_deb_line_skips_its_options():
    assert services.source_uri("deb [trusted=yes arch=amd64] file:/srv/lab-apt/ovn-23.03 ./") == "file:/srv/lab-apt/ovn-23.03"


def test_the_source_uri_of_a_plain_deb_line_is_its_second_word():
    assert services.source_uri(services.source_line("cloud:noble-epoxy") or "") == services.CLOUD_ARCHIVE_URL


def test_only_the_versions_the_configured_archive_offers_are_pinned():
    offered = services.versions_offered(MADISON, "file:/srv/lab-apt/ovn-23.03")
    assert offered == {"ovn-common": "23.03.1-1~deb12u2", "ovn-central": "23.03.1-1~deb12u2"}


def test_an_archive_uri_that_is_a_prefix_of_another_does_not_match_it():
    assert services.versions_offered(MADISON, "file:/srv/lab-apt/ovn-23") == {}


def test_pins_prefer_each_offered_version_below_the_priority_that_downgrades():
    text = services.render_pins({"ovn-common": "23.03.1-1~deb12u2"})
    assert "Package: ovn-common\nPin: version 23.03.1-1~deb12u2\nPin-Priority: 990\n" in text
    assert services.PIN_PRIORITY < 1000


def test_policy_gives_installed_and_candidate_versions_per_package():
    assert services.parse_policy(POLICY) == {
        "ovn-common": ("23.03.1-1~deb12u2", "25.03.0-1"),
        "ovn-host": (None, "25.03.0-1"),
        "openvswitch-common": ("3.5.0-1+b1", "3.5.0-1+b1"),
    }


def test_only_installed_packages_whose_candidate_differs_are_pending():
    assert services.pending_upgrades(services.parse_policy(POLICY)) == {"ovn-common": "25.03.0-1"}


@pytest.mark.parametrize(
    ("debian", "upstream"),
    [("25.03.0-1", "25.03.0"), ("1:25.03.0-1ubuntu1", "25.03.0"), ("3.5.0-1+b1", "3.5.0"), ("23.03.1", "23.03.1")],
)
def test_the_upstream_version_drops_epoch_and_debian_revision(debian, upstream):
    assert services.upstream_version(debian) == upstream
