"""OVN's two clustered databases, as the central charm runs them: names, ports, files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charmed_ovn import paths, pki


@dataclass(frozen=True)
class Database:
    """One of OVN's two clustered databases and everything the charm needs to run it."""

    name: str  # schema name, e.g. OVN_Northbound
    short: str  # nb | sb, as ovn-ctl spells its options
    service: str  # certificate service name
    client_port: int
    raft_port: int

    @property
    def unit(self) -> str:
        return f"ovn-ovsdb-server-{self.short}"

    @property
    def file(self) -> Path:
        return paths.OVN_DB_DIR / f"ovn{self.short}_db.db"

    @property
    def schema(self) -> Path:
        return paths.OVN_SCHEMA_DIR / f"ovn-{self.short}.ovsschema"

    @property
    def control_socket(self) -> Path:
        return paths.OVN_RUN_DIR / f"ovn{self.short}_db.ctl"

    @property
    def socket(self) -> Path:
        return paths.OVN_RUN_DIR / f"ovn{self.short}_db.sock"


NB = Database("OVN_Northbound", "nb", pki.NB_SERVICE, paths.NB_PORT, paths.NB_RAFT_PORT)
SB = Database("OVN_Southbound", "sb", pki.SB_SERVICE, paths.SB_PORT, paths.SB_RAFT_PORT)
DATABASES = (NB, SB)
