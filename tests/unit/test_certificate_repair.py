"""Damaged certificate files: what `certificate_files.damage` finds, and the central's repair."""

from pathlib import Path

import pytest

from charmed_ovn import certificate_files, paths, pki

KEY = Path("/pki/ovnnb-privkey.pem")
CERT = Path("/pki/ovnnb-cert.pem")


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    """A key and a certificate issued for it, as PEM."""
    ca, ca_key = pki.generate_ca()
    key = pki.generate_private_key()
    csr = pki.make_csr(pki.service_request("central-0", pki.NB_SERVICE, ["10.0.0.1"]), key)
    return str(key), str(pki.sign(csr, ca, ca_key))


def test_a_sound_pair_has_no_damage(pair):
    key, cert = pair
    assert certificate_files.damage(KEY, key, CERT, cert, installed=True) is None


def test_nothing_installed_yet_is_no_damage():
    assert certificate_files.damage(KEY, None, CERT, None, installed=False) is None


def test_a_key_waiting_for_its_first_certificate_is_no_damage(pair):
    assert certificate_files.damage(KEY, pair[0], CERT, None, installed=False) is None


@pytest.mark.parametrize(
    ("key", "cert", "installed", "found"),
    [
        ("none", "sound", True, "/pki/ovnnb-privkey.pem was missing"),
        ("", "sound", True, "/pki/ovnnb-privkey.pem was empty"),
        ("half", "sound", True, "/pki/ovnnb-privkey.pem was not a PEM private key"),
        ("garbage", "sound", True, "/pki/ovnnb-privkey.pem was not a PEM private key"),
        ("garbage", "none", False, "/pki/ovnnb-privkey.pem was not a PEM private key"),
        ("sound", "none", True, "/pki/ovnnb-cert.pem was missing"),
        ("sound", "garbage", True, "/pki/ovnnb-cert.pem was not a PEM certificate"),
        ("sound", "", True, "/pki/ovnnb-cert.pem was empty"),
        ("other", "sound", True, "/pki/ovnnb-cert.pem did not match its key (ovnnb-privkey.pem)"),
    ],
)
def test_each_kind_of_damage_names_the_file(pair, key, cert, installed, found):
    sound_key, sound_cert = pair
    keys = {"none": None, "": "", "half": sound_key[: len(sound_key) // 2], "garbage": "\x00\xffnot a key",
            "sound": sound_key, "other": str(pki.generate_private_key())}
    certs = {"none": None, "": "\n", "garbage": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
             "sound": sound_cert}
    assert certificate_files.damage(KEY, keys[key], CERT, certs[cert], installed) == found


def test_a_damaged_record_reads_as_empty():
    assert certificate_files.CertificateRecord.parse("[1, 2") == certificate_files.CertificateRecord()
    assert certificate_files.CertificateRecord.parse('["installed"]') == certificate_files.CertificateRecord()


def test_a_record_round_trips():
    record = certificate_files.CertificateRecord(frozenset({"ovnnb"}), {"ovnsb": "/pki/ovnsb-cert.pem was missing"})
    assert certificate_files.CertificateRecord.parse(record.dump()) == record


# --- the central's repair, on files under tmp_path ---------------------------------------------------


@pytest.fixture
def files(tmp_path) -> paths.CharmFiles:
    return paths.CharmFiles(tmp_path / "ovn-central")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]


def installed(files: paths.CharmFiles, service: str) -> None:
    ca, ca_key = pki.generate_ca()
    key = certificate_files.load_or_create_key(files.private_key(service))
    csr = pki.make_csr(pki.service_request("central-0", service, ["10.0.0.1"]), key)
    certificate = pki.sign(csr, ca, ca_key)
    certificate_files.install_issued(files, (service,), str(ca), str(ca), {service: str(certificate)})


def test_repair_gives_a_service_with_a_garbage_key_a_pending_key_and_says_why(files, caplog):
    installed(files, pki.NB_SERVICE)
    files.private_key(pki.NB_SERVICE).write_text("garbage")

    certificate_files.repair_issued(files, (pki.NB_SERVICE,))

    assert pki.parse_private_key(files.pending_key(pki.NB_SERVICE).read_text()) is not None
    why = f"{files.private_key(pki.NB_SERVICE)} was not a PEM private key"
    assert certificate_files.reissue_waits(files) == f"ovnnb certificate reissue requested: {why}"
    assert warnings(caplog) == [f"ovnnb certificate reissue requested: {why}"]


def test_repair_finds_a_damage_once(files, caplog):
    installed(files, pki.NB_SERVICE)
    files.private_key(pki.NB_SERVICE).unlink()
    certificate_files.repair_issued(files, (pki.NB_SERVICE,))
    pending = files.pending_key(pki.NB_SERVICE).read_text()

    certificate_files.repair_issued(files, (pki.NB_SERVICE,))

    assert files.pending_key(pki.NB_SERVICE).read_text() == pending
    assert len(warnings(caplog)) == 1


def test_repair_replaces_a_garbage_pending_key(files):
    installed(files, pki.NB_SERVICE)
    files.pending_key(pki.NB_SERVICE).write_text("")

    certificate_files.repair_issued(files, (pki.NB_SERVICE,))

    assert pki.parse_private_key(files.pending_key(pki.NB_SERVICE).read_text()) is not None
    assert certificate_files.reissue_waits(files) == (
        f"ovnnb certificate reissue requested: {files.pending_key(pki.NB_SERVICE)} was empty"
    )


def test_repair_leaves_sound_and_new_services_alone(files):
    installed(files, pki.NB_SERVICE)

    certificate_files.repair_issued(files, (pki.NB_SERVICE, pki.SB_SERVICE))

    assert not files.pending_key(pki.NB_SERVICE).exists()
    assert not files.pending_key(pki.SB_SERVICE).exists()
    assert certificate_files.reissue_waits(files) is None


def test_a_deleted_certificate_is_found_because_it_was_installed(files):
    installed(files, pki.NB_SERVICE)
    files.certificate(pki.NB_SERVICE).unlink()

    certificate_files.repair_issued(files, (pki.NB_SERVICE,))

    assert files.pending_key(pki.NB_SERVICE).exists()


def test_the_reissued_certificate_ends_the_wait(files):
    ca, ca_key = pki.generate_ca()
    installed(files, pki.NB_SERVICE)
    files.certificate(pki.NB_SERVICE).write_text("garbage")
    [csr] = certificate_files.service_csrs(files, (pki.NB_SERVICE,), "central-0", ["10.0.0.1"]).values()
    reissued = pki.sign(pki.parse_csr(csr), ca, ca_key)  # type: ignore[arg-type]

    ready = certificate_files.install_issued(files, (pki.NB_SERVICE,), str(ca), str(ca), {pki.NB_SERVICE: str(reissued)})

    assert ready
    assert not files.pending_key(pki.NB_SERVICE).exists()
    assert certificate_files.reissue_waits(files) is None
    assert reissued.matches_private_key(certificate_files.read_key(files.private_key(pki.NB_SERVICE)))  # type: ignore[arg-type]


def test_installing_over_garbage_files_does_not_raise(files, pair):
    ca, _ = pki.generate_ca()
    files.pki.mkdir(parents=True)
    files.private_key(pki.NB_SERVICE).write_bytes(b"\xff\xfe garbage")
    files.certificate(pki.NB_SERVICE).write_text("garbage")

    assert not certificate_files.install_issued(files, (pki.NB_SERVICE,), str(ca), str(ca), {pki.NB_SERVICE: pair[1]})
    assert certificate_files.present(files, (pki.NB_SERVICE,)) == {"CA": str(ca)}
    report = certificate_files.inventory(files, (pki.NB_SERVICE,), True)
    assert report[pki.NB_SERVICE] == {
        "cert": f"{files.certificate(pki.NB_SERVICE)} (Error: Damaged file)",
        "key": f"{files.private_key(pki.NB_SERVICE)} (Error: Damaged file)",
    }
