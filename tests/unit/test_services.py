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


def test_drop_in_path_is_in_the_units_drop_in_directory():
    assert services.drop_in_path("ovn-northd.service") == Path(
        "/etc/systemd/system/ovn-northd.service.d/10-charmed-ovn.conf"
    )
