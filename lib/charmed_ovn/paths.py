"""Every file path and port the bundle uses, in one place."""

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path("/var/lib/charmed-ovn")
RUNTIME_DIR = Path("/run/charmed-ovn")  # in RAM: what must not outlive a boot, and must be written on a full disk
OVN_RUN_DIR = Path("/var/run/ovn")
OVN_DB_DIR = Path("/var/lib/ovn")
OVN_LOG_DIR = Path("/var/log/ovn")
OVN_SCHEMA_DIR = Path("/usr/share/ovn")
OVN_CTL = Path("/usr/share/ovn/scripts/ovn-ctl")
OVN_CONTROLLER = Path("/usr/bin/ovn-controller")
SYSTEMD_DIR = Path("/etc/systemd/system")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_PREFERENCES_DIR = Path("/etc/apt/preferences.d")
WRAPPER_DIR = Path("/usr/local/bin")
# ovs-ctl --system-id=random (Debian's and Ubuntu's units) resets system-id from this file on start.
OVS_SYSTEM_ID_FILE = Path("/etc/openvswitch/system-id.conf")
BIRD_CONFIG = Path("/etc/bird/bird.conf")  # the distribution's bird2 (ovn-bgp)

NB_PORT = 6641
SB_PORT = 6642
# The Southbound listener without RBAC (ovn-northd, client tools), as the OpenStack charms number it.
SB_PRIVILEGED_PORT = 16642
NB_RAFT_PORT = 6643
SB_RAFT_PORT = 6644


@dataclass(frozen=True)
class CharmFiles:
    """The files one application's unit keeps on its machine.

    Each application has its own directory, so that ovn-central and ovn-chassis units on the same
    machine never overwrite each other's keys.
    """

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def ca_cert(self) -> Path:
        return self.pki / "cacert.pem"

    @property
    def client_env(self) -> Path:
        """Endpoints and client certificate for the client tool wrappers."""
        return self.root / "client.env"

    @property
    def paused(self) -> Path:
        """Present while the `pause` action holds the unit's OVN services stopped."""
        return self.root / "paused"

    @property
    def config_seen(self) -> Path:
        """A digest of each option's value as the last hook saw it: the security log names the
        keys that changed."""
        return self.root / "config-seen.json"

    @property
    def bgp_record(self) -> Path:
        """What an ovn-bgp unit enabled with (routing table, Northbound endpoints): removal
        undoes it after Juju broke the unit's relations, peers included."""
        return self.root / "bgp-record.json"

    @property
    def apt_source(self) -> Path:
        """The application's `ovn-source` archive: its own file, so that each application on a
        machine keeps its source and removing one's leaves the other's."""
        return APT_SOURCES_DIR / f"charmed-ovn-{self.root.name}.list"

    @property
    def apt_pin(self) -> Path:
        """The OVN versions the application's `ovn-source` offers, preferred by apt."""
        return APT_PREFERENCES_DIR / f"charmed-ovn-{self.root.name}"

    def certificate(self, service: str) -> Path:
        """PEM certificate of one OVN service (MicroOVN's file names)."""
        return self.pki / f"{service}-cert.pem"

    def private_key(self, service: str) -> Path:
        """PEM private key of one OVN service; mode 0600."""
        return self.pki / f"{service}-privkey.pem"

    def pending_key(self, service: str) -> Path:
        """A new key waiting for its certificate (reissue): the pair is swapped in together."""
        return self.pki / f"{service}-privkey.pem.next"

    @property
    def certificate_record(self) -> Path:
        """Which services' certificates were installed here, and which are being reissued because
        their files were found damaged (and what was found)."""
        return self.pki / "certificates.json"

    @property
    def backups(self) -> Path:
        """Where a removed unit leaves a copy of its databases, certificates and logs."""
        return self.root / "backups"

    @property
    def retired_marker(self) -> Path:
        """Present once a central unit has left its clusters for good (it is being removed)."""
        return self.root / "retired"

    def csr(self, service: str) -> Path:
        """The certificate signing request last sent for one OVN service."""
        return self.pki / f"{service}.csr"


def charm_files(app: str) -> CharmFiles:
    """Where the units of application `app` keep their state on a machine."""
    return CharmFiles(STATE_DIR / app)
