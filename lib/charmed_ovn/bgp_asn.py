"""Automatic AS numbers for ovn-bgp units: unique per unit, stable, never given out twice.

The leader allocates in the application's peer databag (`interfaces.bgp_peers`): every unit that
ever had a number keeps its entry, so a number is never reused after its unit is gone, and a
leadership change keeps the allocations (the databag is the application's, not the leader's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class AsnRangeExhaustedError(ValueError):
    """Every number of the range is allocated or retired."""


def allocate(
    allocated: Mapping[str, int], retired: Iterable[int], units: Iterable[str], asn_range: tuple[int, int]
) -> tuple[dict[str, int], list[int]]:
    """The allocations after giving each of `units` a number inside `asn_range`, and the retired
    numbers. A unit keeps its number while it lies inside the range; one outside (the range was
    changed) is retired and the unit gets a new one. New numbers are the lowest never used."""
    first, last = asn_range
    result = dict(allocated)
    retired_numbers = sorted(set(retired))
    for unit in sorted(units):
        number = result.get(unit)
        if number is not None and first <= number <= last:
            continue
        if number is not None:
            retired_numbers.append(number)
        result[unit] = _lowest_unused(first, last, set(result.values()) | set(retired_numbers))
    return result, sorted(set(retired_numbers))


def _lowest_unused(first: int, last: int, used: set[int]) -> int:
    for number in range(first, last + 1):
        if number not in used:
            return number
    raise AsnRangeExhaustedError(f"asn-range: every AS number of {first}-{last} is taken")
