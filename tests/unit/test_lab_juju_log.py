"""The lab's juju-log parses what Juju's juju-log accepts and refuses the rest."""

import pytest

from tests.lab.juju_log import UsageError, line, parse


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["hello", "world"], ("INFO", "hello world")),
        (["--log-level", "debug", "--", "--not-an-option"], ("DEBUG", "--not-an-option")),
        (["-l", "WARNING", "careful"], ("WARNING", "careful")),
        (["--log-level=ERROR", "bad"], ("ERROR", "bad")),
        (["-lTRACE", "fine"], ("TRACE", "fine")),
        (["--debug", "-l", "INFO", "x"], ("DEBUG", "x")),
    ],
)
def test_juju_log_arguments_give_the_level_and_message(argv, expected):
    assert parse(argv) == expected


@pytest.mark.parametrize(
    ("argv", "reason"),
    [([], "no message specified"), (["-l"], "option -l needs a value"), (["--format", "x"], "unrecognized arguments: --format")],
)
def test_juju_log_refuses_what_juju_refuses(argv, reason):
    with pytest.raises(UsageError, match=reason):
        parse(argv)


def test_a_log_line_names_the_unit_and_relation():
    environ = {"JUJU_UNIT_NAME": "ovn-central/0", "JUJU_RELATION_ID": "ovsdb:2"}
    assert line("DEBUG", "hi", environ, 0) == "1970-01-01 00:00:00 DEBUG unit.ovn-central/0.juju-log ovsdb:2: hi\n"
