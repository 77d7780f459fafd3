"""ovn-central's peer relation (`cluster`): what each unit and the leader publish.

Each unit publishes where it is, one CSR per service, its raft server ids once it is a full
member, and which CA its installed certificates come from. The leader publishes the CA's public
part, every unit's signed certificates and the clusters' ids. The private keys never appear here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ops
from pydantic import Field, Json

from charmed_ovn.databases import DATABASES, Database
from charmed_ovn.interfaces import Databag, InstalledOvn


class CentralUnitData(InstalledOvn):
    """One central unit's databag (with its installed OVN: the status action's schema report and
    the leader's upgrade decisions read it)."""

    address: str = ""  # where its raft servers listen (the peer binding)
    client_addresses: Json[dict[str, str]] = Field(default_factory=dict, alias="client-addresses")  # per ovsdb endpoint
    hostname: str = ""
    csrs: Json[dict[str, str]] = Field(default_factory=dict)  # service -> CSR (PEM)
    nb_server_id: str = Field("", alias="nb-server-id")  # announced once a full member
    sb_server_id: str = Field("", alias="sb-server-id")
    installed_ca: str = Field("", alias="installed-ca")  # fingerprint of the CA of its certificates
    upgrade_to: str = Field("", alias="upgrade-to")  # the OVN version apt would upgrade it to
    # both databases answer TLS clients on its client addresses: consumers are told of it only then
    serving: bool = Field(False, alias="ovsdb-serving")

    # Per-database fields are named `<nb|sb>_<what>`, as `Database.short` spells them.

    def server_id(self, db: Database) -> str:
        return getattr(self, f"{db.short}_server_id")


class CentralAppData(Databag):
    """The leader's databag: the CA's public part, the issued certificates, the cluster ids."""

    ca_certificate: str = Field("", alias="ca-certificate")
    # what units install as cacert.pem: the CA and the certificates above it, plus the previous
    # CA while a rollover is in progress
    ca_bundle: str = Field("", alias="ca-bundle")
    ca_auto_renew: bool | None = Field(None, alias="ca-auto-renew")  # None: no CA yet
    ca_provider: str = Field("", alias="ca-provider")  # the `ca` relation's application, if any
    certificates: Json[dict[str, dict[str, str]]] = Field(default_factory=dict)  # unit -> service -> PEM
    nb_cluster_id: str = Field("", alias="nb-cluster-id")
    sb_cluster_id: str = Field("", alias="sb-cluster-id")
    upgrade_turn: str = Field("", alias="upgrade-turn")  # the unit that may upgrade its packages now
    # database -> the schema the leader converted it to: the change wakes every peer (its status,
    # the election timer back to the configured one on the raft leader)
    converted: Json[dict[str, str]] = Field(default_factory=dict)

    def cluster_id(self, db: Database) -> str:
        return getattr(self, f"{db.short}_cluster_id")

    @property
    def trust_bundle(self) -> str:
        """What a unit installs as cacert.pem."""
        return self.ca_bundle or self.ca_certificate


# --- what the databags say about the cluster (pure) ----------------------------------------------


def member_addresses(units: Mapping[str, CentralUnitData], db: Database) -> dict[str, str]:
    """Unit name -> address of the units that announced membership of `db`."""
    return {name: data.address for name, data in units.items() if data.server_id(db) and data.address}


def client_addresses_of_members(units: Mapping[str, CentralUnitData], endpoint: str, *, serving: bool = False) -> list[str]:
    """The `endpoint` addresses of the units that are members of both clusters (their raft
    address when they did not publish one for `endpoint`); with `serving`, only of those whose
    databases answer TLS clients (what consumers are told)."""
    both = set.intersection(*(set(member_addresses(units, db)) for db in DATABASES))
    return sorted(
        data.client_addresses.get(endpoint, data.address) for name, data in units.items()
        if name in both and (data.serving or not serving)
    )


def announced_server_ids(units: Mapping[str, CentralUnitData]) -> dict[Database, dict[str, str]]:
    """Per database, unit name -> the full raft server id it announced."""
    return {db: {name: sid for name, data in units.items() if (sid := data.server_id(db))} for db in DATABASES}


def installed_ca_fingerprints(units: Mapping[str, CentralUnitData]) -> list[str]:
    """Each unit's installed CA fingerprint ("" for a unit with no certificates yet)."""
    return [data.installed_ca for data in units.values()]


# --- the relation, from one unit ------------------------------------------------------------------


@dataclass(frozen=True)
class CentralCluster:
    """The peer relation as one unit sees it: every unit's databag and the leader's."""

    relation: ops.Relation
    unit: ops.Unit

    @property
    def units(self) -> dict[str, CentralUnitData]:
        """Every central unit's databag, this unit's first."""
        return {unit.name: CentralUnitData.read(self.relation, unit) for unit in [self.unit, *self.relation.units]}

    @property
    def size(self) -> int:
        """How many central units there are."""
        return len(self.relation.units) + 1

    @property
    def local(self) -> CentralUnitData:
        return CentralUnitData.read(self.relation, self.unit)

    @property
    def app(self) -> CentralAppData:
        return CentralAppData.read(self.relation, self.unit.app)

    def publish_identity(
        self,
        address: str,
        client_addresses: Mapping[str, str],
        hostname: str,
        csrs: Mapping[str, str],
        installed: InstalledOvn,
        upgrade_to: str,
    ) -> None:
        """Where this unit is, its CSRs, its installed OVN and the version apt would upgrade it to."""
        self.update_local(
            address=address, client_addresses=dict(client_addresses), hostname=hostname, csrs=dict(csrs),
            upgrade_to=upgrade_to, **installed.model_dump(),
        )

    def announce_server_id(self, db: Database, server_id: str) -> None:
        """Announce this unit's raft server id in `db` ("" withdraws it)."""
        self.update_local(**{f"{db.short}_server_id": server_id})

    def publish_cluster_id(self, db: Database, cluster_id: str) -> None:
        """Publish `db`'s raft cluster id (leader only)."""
        self.update_app(**{f"{db.short}_cluster_id": cluster_id})

    def update_local(self, **changes: object) -> None:
        """Change fields of this unit's databag (by field name)."""
        _updated(self.local, changes).write(self.relation, self.unit)

    def update_app(self, **changes: object) -> None:
        """Change fields of the leader's databag (by field name; leader only)."""
        _updated(self.app, changes).write(self.relation, self.unit.app)


def _updated(data: Databag, changes: Mapping[str, object]) -> Databag:
    unknown = set(changes) - set(type(data).model_fields)
    assert not unknown, f"{type(data).__name__} has no fields {sorted(unknown)}"
    return data.model_copy(update=changes)
