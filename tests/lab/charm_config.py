"""Charm options as the Juju controller reads them (juju/juju internal/charm/config.go).

Two ways in, as in Juju:
- `juju config APP k=v` sends every value as a string; the controller parses it for the option's
  type (`Option.parse`): a string as it is, an int with Go's `strconv.ParseInt(s, 10, 64)`, a
  float with `strconv.ParseFloat(s, 64)`, a boolean with `strconv.ParseBool`. `parse_strings`.
- A bundle's `options:` are YAML values (`ParseSettingsYAML`): a string is parsed as above, any
  other value is checked by juju/schema's checker for the type (`Option.validate`: an int for an
  int, a bool for a boolean, a float for a float, only a string for a string), and null means
  the default. `from_yaml`.
A value that does not fit is refused with Juju's words, `option "NAME" expected TYPE, got VALUE`,
VALUE as Go's `%#v` writes it (`go_syntax`); an option the charm lacks with `unknown option "NAME"`.
Nothing is ever stripped or converted beyond what Go's parsers do: no YAML reading of a
`juju config` value (`asn=0x10` stays the string "0x10"), no Python int() (which takes " 16 ",
"1_000" and Arabic-Indic digits).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# strconv.ParseBool's strings.
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
# strconv.ParseInt(s, 10, 64): ASCII digits with an optional sign, nothing else.
_DECIMAL_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
# strconv.ParseInt(s, 0, 64) (juju/schema's Int checker of a string): base prefixes, a leading 0
# for octal, underscores between digits or after a prefix.
_PREFIXED_INT = re.compile(
    r"(?P<sign>[+-]?)(?:0[xX](?P<hex>(?:_?[0-9a-fA-F])+)|0[bB](?P<bin>(?:_?[01])+)|0[oO](?P<oct>(?:_?[0-7])+)"
    r"|(?P<zero>0(?:_?[0-7])*)|(?P<dec>[1-9](?:_?[0-9])*))",
    re.ASCII,
)
# strconv.ParseFloat(s, 64): decimal or hexadecimal (p exponent required), Inf/Infinity/NaN in
# any case (NaN unsigned). Go's underscores (only with a base prefix) are not taken here.
_DECIMAL_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+", re.ASCII)
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v",
               "\\": r"\\", '"': r"\""}
KNOWN_TYPES = ("string", "int", "float", "boolean", "secret")


class OptionError(ValueError):
    """The value is refused; the message is the controller's."""


def go_quote(text: str) -> str:
    """Go's strconv.Quote: printable runes as they are, the rest escaped. Lone surrogates (bytes
    of invalid UTF-8 in a command line, as Python decodes them) are those bytes, as `\\xHH`."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nothing to escape (the huge values of the bad-input cases, at C speed)
    out = []
    for char in text:
        code = ord(char)
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def go_float(number: float) -> str:
    """Go's `%v` of a float64 (strconv's 'g' with the shortest digits): %e form when the
    decimal exponent is below -4 or at least 6, as in `1e+06`."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # where the decimal point goes, counted from the first digit
    minus = "-" if sign else ""
    if text == "0":
        return minus + "0"
    power = point - 1
    if power < -4 or power >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return minus + text + "0" * (point - len(text))
    return f"{minus}{text[:point]}.{text[point:]}"


def go_syntax(value: Any) -> str:
    """Go's `%#v` of a value as Juju holds it: a string quoted, numbers and booleans as Go prints
    them, nil as `<nil>`; lists and maps as the YAML decoder's Go types print."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # Go's YAML decoder makes a number past int64 a uint64, which %#v writes in hex.
        return f"0x{value:x}" if INT64_MAX < value < 2**64 else str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_syntax(item) for item in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"{go_syntax(k)}:{go_syntax(v)}" for k, v in value.items())
        return "map[interface {}]interface {}{" + items + "}"
    return go_quote(str(value))


def expected(name: str, kind: str, value: Any) -> OptionError:
    return OptionError(f"option {go_quote(name)} expected {kind}, got {go_syntax(value)}")


def option_type(options: Mapping[str, Any], name: str) -> str:
    """The option's declared type (a missing type is a string, as Juju reads config.yaml)."""
    if name not in options:
        raise OptionError(f"unknown option {go_quote(name)}")
    kind = (options[name] or {}).get("type") or "string"
    if kind not in KNOWN_TYPES:
        raise OptionError(f"option {go_quote(name)} has unknown type {go_quote(kind)}")
    return kind


def parse_go_int(text: str, *, base_prefixes: bool = False) -> int | None:
    """strconv.ParseInt(text, 10 or 0, 64); None where Go returns an error (syntax or range)."""
    if base_prefixes:
        match = _PREFIXED_INT.fullmatch(text)
        if match is None:
            return None
        base, digits = next(
            (base, match[group]) for group, base in (("hex", 16), ("bin", 2), ("oct", 8), ("zero", 8), ("dec", 10))
            if match[group] is not None
        )
        digits = digits.replace("_", "")
        sign = match["sign"]
    elif _DECIMAL_INT.fullmatch(text):
        base, sign, digits = 10, text[:1] if text[0] in "+-" else "", text.lstrip("+-")
    else:
        return None
    significant = digits.lstrip("0") or "0"
    if len(significant) > 64:  # past int64 in any base; also keeps int() off huge strings
        return None
    number = int(significant, base) * (-1 if sign == "-" else 1)
    return number if INT64_MIN <= number <= INT64_MAX else None


def parse_go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64); None where Go returns an error (syntax, or out of range)."""
    if _SPECIAL_FLOAT.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    if _HEX_FLOAT.fullmatch(text):
        number = float.fromhex(text) if len(text) < 1000 else math.inf
    elif _DECIMAL_FLOAT.fullmatch(text):
        number = float(text) if len(text) < 1000 else float(Decimal(text))
    else:
        return None
    return None if math.isinf(number) else number


def parse_value(name: str, kind: str, text: str) -> Any:
    """`Option.parse`: the typed value of a string given for an option of type `kind`."""
    if kind in ("string", "secret"):
        return text
    if kind == "boolean":
        if text in GO_TRUE or text in GO_FALSE:
            return text in GO_TRUE
        raise expected(name, kind, text)
    parsed = parse_go_int(text) if kind == "int" else parse_go_float(text)
    if parsed is None:
        raise expected(name, kind, text)
    return parsed


def validate_value(name: str, kind: str, value: Any) -> Any:
    """`Option.validate`: a YAML value other than a string, through juju/schema's checker."""
    if kind in ("string", "secret"):
        ok = isinstance(value, str) and (kind == "string" or value == "" or value.startswith("secret:"))
        if ok:
            return value
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and (value in GO_TRUE or value in GO_FALSE):
            return value in GO_TRUE
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
            return value
        if isinstance(value, str) and (number := parse_go_int(value, base_prefixes=True)) is not None:
            return number
    elif isinstance(value, float):
        return value
    raise expected(name, kind, value)


def parse_strings(options: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """`juju config APP k=v ...` (`ParseSettingsStrings`): every value typed, or the first
    refusal raised and nothing taken."""
    return {name: parse_value(name, option_type(options, name), text) for name, text in values.items()}


def from_yaml(options: Mapping[str, Any], name: str, value: Any) -> Any:
    """One option of a bundle's `options:` (`ParseSettingsYAML`): a string parsed as `juju
    config` parses it, another value validated; None (YAML null) means the default. A YAML
    timestamp is the text it was written as (Go's YAML decoder keeps it a string)."""
    kind = option_type(options, name)
    if value is None:
        return None
    if isinstance(value, datetime.date):
        value = value.isoformat()
    if isinstance(value, str):
        return parse_value(name, kind, value)
    return validate_value(name, kind, value)
