"""The lab's charm options, parsed as Juju's controller parses them (tests/lab/charm_config.py,
after juju/juju internal/charm/config.go): `juju config` strings through Go's strconv, bundle YAML
through juju/schema's checkers, refusals in Juju's words, nothing set when one value is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.lab import charm_config
from tests.lab.charm_config import OptionError, from_yaml, go_quote, go_syntax, parse_strings
from tests.lab.cli import parse_config_values
from tests.lab.model import LabError, Model, coerce_option, new_application

OPTIONS = {
    "name": {"type": "string", "default": ""},
    "count": {"type": "int", "default": 16},
    "ratio": {"type": "float", "default": 0.5},
    "flag": {"type": "boolean", "default": True},
    "untyped": {"default": "x"},
}


def refused(name: str, kind: str, shown: str) -> str:
    return f'option "{name}" expected {kind}, got {shown}'


class TestJujuConfigStrings:
    """`juju config APP k=v`: Option.parse of the string the client sent."""

    @pytest.mark.parametrize("text", ["", " padded ", "0x10", "True", "é ünïcødé", "x" * 100_000, "a\nb"])
    def test_a_string_option_takes_the_text_as_it_is(self, text):
        assert parse_strings(OPTIONS, {"name": text}) == {"name": text}

    def test_an_option_without_a_type_is_a_string(self):
        assert parse_strings(OPTIONS, {"untyped": "16"}) == {"untyped": "16"}

    @pytest.mark.parametrize(
        ("text", "value"),
        [("16", 16), ("+16", 16), ("-16", -16), ("007", 7), ("-0", 0),
         ("9223372036854775807", 2**63 - 1), ("-9223372036854775808", -(2**63))],
    )
    def test_an_int_is_ascii_digits_with_an_optional_sign(self, text, value):
        assert parse_strings(OPTIONS, {"count": text}) == {"count": value}

    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("", '""'),
            (" 16", '" 16"'),
            ("16 ", '"16 "'),
            ("1_000", '"1_000"'),
            ("0x10", '"0x10"'),
            ("16.0", '"16.0"'),
            ("1e3", '"1e3"'),
            ("\u0661\u0666", '"\u0661\u0666"'),  # Arabic-Indic digits: Python's int() takes them
            ("\uff11\uff16", '"\uff11\uff16"'),  # fullwidth digits
            ("9223372036854775808", '"9223372036854775808"'),
            ("-9223372036854775809", '"-9223372036854775809"'),
            ("+", '"+"'),
            ("--1", '"--1"'),
        ],
    )
    def test_anything_else_is_refused_for_an_int_in_jujus_words(self, text, shown):
        with pytest.raises(OptionError) as refusal:
            parse_strings(OPTIONS, {"count": text})
        assert str(refusal.value) == refused("count", "int", shown)

    def test_a_huge_number_is_refused_without_converting_it(self):
        text = "1" * 100_000  # Python's int() would refuse it only past 4300 digits, with its own error
        with pytest.raises(OptionError) as refusal:
            parse_strings(OPTIONS, {"count": text})
        assert str(refusal.value) == refused("count", "int", f'"{text}"')

    @pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
    def test_parse_bools_true_strings_are_true(self, text):
        assert parse_strings(OPTIONS, {"flag": text}) == {"flag": True}

    @pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
    def test_parse_bools_false_strings_are_false(self, text):
        assert parse_strings(OPTIONS, {"flag": text}) == {"flag": False}

    @pytest.mark.parametrize("text", ["", "yes", "no", "on", "off", "tRUE", " true", "true ", "2", "y"])
    def test_any_other_boolean_is_refused(self, text):
        with pytest.raises(OptionError) as refusal:
            parse_strings(OPTIONS, {"flag": text})
        assert str(refusal.value) == refused("flag", "boolean", go_quote(text))

    @pytest.mark.parametrize(
        ("text", "value"), [("1.5", 1.5), ("-2", -2.0), (".5", 0.5), ("1e3", 1000.0), ("0x1p-2", 0.25), ("+Inf", float("inf"))]
    )
    def test_a_float_is_what_parse_float_reads(self, text, value):
        assert parse_strings(OPTIONS, {"ratio": text}) == {"ratio": value}

    @pytest.mark.parametrize("text", ["", " 1.5", "1,5", "1_0", "1e400", "+nan", "one"])
    def test_any_other_float_is_refused(self, text):
        with pytest.raises(OptionError) as refusal:
            parse_strings(OPTIONS, {"ratio": text})
        assert str(refusal.value) == refused("ratio", "float", go_quote(text))

    def test_an_unknown_option_is_refused(self):
        with pytest.raises(OptionError) as refusal:
            parse_strings(OPTIONS, {"colour": "red"})
        assert str(refusal.value) == 'unknown option "colour"'


class TestGoQuoting:
    @pytest.mark.parametrize(
        ("text", "quoted"),
        [
            ("plain", '"plain"'),
            ('say "hi"\\', r'"say \"hi\"\\"'),
            ("tab\tnew\nline\r", r'"tab\tnew\nline\r"'),
            ("\x00\x1b\x7f", r'"\x00\x1b\x7f"'),
            ("caf\u00e9 \u6771\u4eac \U0001f600", '"caf\u00e9 \u6771\u4eac \U0001f600"'),  # printable: as they are
            ("\u00a0\u200b\u2028", r'"\u00a0\u200b\u2028"'),  # spaces and format characters: escaped
            ("\U000e0001", r'"\U000e0001"'),
            ("\udcff", r'"\xff"'),  # an invalid UTF-8 byte of a command line
        ],
    )
    def test_strings_are_quoted_as_strconv_quote(self, text, quoted):
        assert go_quote(text) == quoted

    @pytest.mark.parametrize(
        ("value", "shown"),
        [(None, "<nil>"), (True, "true"), (100, "100"), (1.5, "1.5"), (2.0, "2"), (1e6, "1e+06"),
         (123456.0, "123456"), (1e-5, "1e-05"), ([1, "a"], '[]interface {}{1, "a"}')],
    )
    def test_other_values_are_shown_as_go_prints_them(self, value, shown):
        assert go_syntax(value) == shown


class TestBundleOptions:
    """A bundle's `options:` are YAML (ParseSettingsYAML): strings parsed, other values validated."""

    def options_of(self, text: str) -> dict:
        return yaml.safe_load(text)

    @pytest.mark.parametrize(
        ("text", "typed"),
        [
            ("count: 16", {"count": 16}),
            ("count: '16'", {"count": 16}),
            ("count: 0x10", {"count": 16}),  # YAML's integer, not Juju's parse
            ("flag: true", {"flag": True}),
            ("flag: 'T'", {"flag": True}),
            ("flag: yes", {"flag": True}),  # YAML 1.1's boolean, as Go's YAML decoder reads it
            ("name: 'text'", {"name": "text"}),
            ("name: '100'", {"name": "100"}),
            ("name: 2024-01-02", {"name": "2024-01-02"}),  # a timestamp stays its text in Go's decoder
            ("ratio: 1.5", {"ratio": 1.5}),
            ("ratio: '2'", {"ratio": 2.0}),
            ("count: null", {"count": None}),  # the default
        ],
    )
    def test_values_juju_takes(self, text, typed):
        assert {key: from_yaml(OPTIONS, key, value) for key, value in self.options_of(text).items()} == typed

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("name: 100", refused("name", "string", "100")),
            ("name: true", refused("name", "string", "true")),
            ("name: 1.5", refused("name", "string", "1.5")),
            ("count: '0x10'", refused("count", "int", '"0x10"')),  # a string is parsed in base 10
            ("count: ' 16'", refused("count", "int", '" 16"')),
            ("count: 1.5", refused("count", "int", "1.5")),
            ("count: true", refused("count", "int", "true")),
            ("count: 9223372036854775808", refused("count", "int", "0x8000000000000000")),  # a uint64 to Go
            ("flag: 1", refused("flag", "boolean", "1")),
            ("flag: 'yes'", refused("flag", "boolean", '"yes"')),
            ("ratio: 2", refused("ratio", "float", "2")),  # juju/schema's Float takes floats only
            ("colour: red", 'unknown option "colour"'),
        ],
    )
    def test_values_juju_refuses(self, text, message):
        [(key, value)] = self.options_of(text).items()
        with pytest.raises(OptionError) as refusal:
            from_yaml(OPTIONS, key, value)
        assert str(refusal.value) == message

    def test_the_models_coerce_option_refuses_as_a_lab_error(self):
        with pytest.raises(LabError, match='^option "name" expected string, got 100$'):
            coerce_option(OPTIONS, "name", 100)

    def test_an_int_string_of_the_validate_path_takes_base_prefixes(self):
        # juju/schema's Int checker parses a string with base 0; only `validate` reaches it.
        assert charm_config.validate_value("count", "int", "0x10") == 16
        assert charm_config.validate_value("count", "int", "0_17") == 15


class TestTheLabsConfigCommand:
    def model(self, monkeypatch: pytest.MonkeyPatch) -> Model:
        model = Model.new("unit")
        model.apps["app"] = new_application("/nowhere", {"name": "", "count": 16, "flag": True}, {})
        monkeypatch.setattr(Model, "meta", lambda self, app: {"config": {"options": OPTIONS}})
        return model

    def test_values_are_the_text_typed_never_yaml(self, tmp_path: Path):
        pem = tmp_path / "value.txt"
        pem.write_text("line one\nline two\n")
        values = parse_config_values(["asn=0x10", "x=true", "y=", "z= 16 ", "w=a=b", f"f=@{pem}"])
        assert values == {"asn": "0x10", "x": "true", "y": "", "z": " 16 ", "w": "a=b", "f": "line one\nline two\n"}

    def test_a_refused_value_sets_none_of_the_others(self, monkeypatch: pytest.MonkeyPatch):
        model = self.model(monkeypatch)
        with pytest.raises(LabError, match='^option "count" expected int, got " 16 "$'):
            model.set_config("app", {"name": "changed", "count": " 16 "})
        assert model.apps["app"]["config"] == {"name": "", "count": 16, "flag": True}

    def test_parsed_values_are_set_typed(self, monkeypatch: pytest.MonkeyPatch):
        model = self.model(monkeypatch)
        model.set_config("app", {"name": "0x10", "count": "-3", "flag": "F"})
        assert model.apps["app"]["config"] == {"name": "0x10", "count": -3, "flag": False}
