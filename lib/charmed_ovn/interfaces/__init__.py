"""Relation data, typed once: every databag the bundle's charms read or write has a model here.

Each model is read and written through ops' `Relation.load` / `Relation.save` with the wire format
the interfaces already use: a string is stored as it is (an address, a PEM), anything else as
JSON (`csrs`, `certificates`, ...), and an empty or absent value removes the key. A value that does
not match its model raises ValueError (pydantic's ValidationError).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Self

import ops
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from charmed_ovn.databases import Database

logger = logging.getLogger(__name__)
# A schema version as OVN writes it (7.11.0): digits and dots, and short, since it is compared
# number by number (a megabyte of digits is no version).
SCHEMA_VERSION_PATTERN = r"^(\d{1,9}(\.\d{1,9}){0,3})?$"


def encode(value: object) -> str:
    """A field's value as relation data: strings raw, nothing (None, empty) removes the key,
    the rest JSON."""
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _raw(value: str) -> str:
    """Values are handed to the model as stored: `Json[...]` fields parse themselves."""
    return value


class Databag(BaseModel):
    """One databag's fields; Juju's hyphenated keys are the fields' aliases."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    @classmethod
    def read(cls, relation: ops.Relation, source: ops.Unit | ops.Application) -> Self:
        """The databag of `source` on `relation`, validated."""
        return relation.load(cls, source, decoder=_raw)

    def write(self, relation: ops.Relation, destination: ops.Unit | ops.Application) -> None:
        """Replace this model's keys in the databag of `destination` (other keys stay)."""
        relation.save(self, destination, encoder=encode)


class InstalledOvn(Databag):
    """What OVN a unit has installed, as every unit of the bundle publishes it to ovn-central (peers,
    `ovsdb`): the leader converts a database only once every unit can read the new schema."""

    ovn_version: str = Field("", alias="ovn-version")  # upstream versions, e.g. 25.03.0
    ovs_version: str = Field("", alias="ovs-version")
    nb_schema: str = Field("", alias="nb-schema", pattern=SCHEMA_VERSION_PATTERN)  # the schema versions its OVN expects
    sb_schema: str = Field("", alias="sb-schema", pattern=SCHEMA_VERSION_PATTERN)

    def schema_version(self, db: Database) -> str:
        """The schema version expected of `db`; empty when not reported."""
        return getattr(self, f"{db.short}_schema")

    @property
    def workload_version(self) -> str:
        """What `juju status` shows in its Version column: OVN's version and Open vSwitch's."""
        return f"{self.ovn_version}+ovs{self.ovs_version}" if self.ovs_version else self.ovn_version


def warn_ignored(relation: ops.Relation, source: ops.Unit | ops.Application, problem: str) -> None:
    """Log, naming who wrote it, what a remote charm's databag holds that is of no use: it is
    ignored, and the other units of the relation are served as ever."""
    logger.warning("ignoring %s data from %s (relation %d): %s", relation.name, source.name, relation.id, problem)
