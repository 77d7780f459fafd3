import pytest

from charmed_ovn.bgp_asn import AsnRangeExhaustedError, allocate

RANGE = (4210000000, 4210000009)


def test_each_unit_gets_a_number_of_its_own_from_the_bottom_of_the_range():
    asns, retired = allocate({}, [], ["ovn-bgp/1", "ovn-bgp/0"], RANGE)

    assert asns == {"ovn-bgp/0": 4210000000, "ovn-bgp/1": 4210000001}
    assert retired == []


def test_numbers_are_stable_when_allocated_again():
    first, _ = allocate({}, [], ["ovn-bgp/0", "ovn-bgp/1"], RANGE)

    assert allocate(first, [], ["ovn-bgp/1", "ovn-bgp/0"], RANGE) == (first, [])


def test_a_departed_units_number_is_never_given_to_another_unit():
    asns = {"ovn-bgp/0": 4210000000, "ovn-bgp/1": 4210000001}

    after, _ = allocate(asns, [], ["ovn-bgp/0", "ovn-bgp/2"], RANGE)

    assert after["ovn-bgp/2"] == 4210000002
    assert after["ovn-bgp/1"] == 4210000001  # kept: reserved for good


def test_a_number_outside_a_changed_range_is_retired_and_replaced():
    asns, retired = allocate({"ovn-bgp/0": 4210000000}, [], ["ovn-bgp/0"], (4220000000, 4220000009))

    assert asns == {"ovn-bgp/0": 4220000000}
    assert retired == [4210000000]


def test_retired_numbers_are_not_given_out_again():
    asns, _ = allocate({}, [4210000000, 4210000001], ["ovn-bgp/3"], RANGE)

    assert asns == {"ovn-bgp/3": 4210000002}


def test_an_exhausted_range_says_so():
    with pytest.raises(AsnRangeExhaustedError, match="every AS number of 4210000000-4210000001 is taken"):
        allocate({"a/0": 4210000000, "a/1": 4210000001}, [], ["a/2"], (4210000000, 4210000001))
