"""ovn-bgp's peer relation (`bgp-peers`): the AS numbers the leader allocated."""

from __future__ import annotations

from pydantic import Field, Json

from charmed_ovn.interfaces import Databag


class BgpAppData(Databag):
    """The leader's databag: unit name -> AS number, and the numbers no unit may get again."""

    asns: Json[dict[str, int]] = Field(default_factory=dict)
    retired_asns: Json[list[int]] = Field(default_factory=list, alias="retired-asns")

