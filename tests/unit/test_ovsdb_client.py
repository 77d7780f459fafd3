"""ovsdb_client: its pure parts, and the schema request against a JSON-RPC peer on a unix socket
(the deadline is what python-ovs' own blocking calls lack)."""

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from charmed_ovn import ovsdb_client, paths


def test_uses_tls_when_any_remote_is_ssl():
    assert ovsdb_client.uses_tls("tcp:10.0.0.1:6642, ssl:10.0.0.2:6642")


def test_uses_no_tls_for_unix_and_tcp_remotes():
    assert not ovsdb_client.uses_tls("unix:/var/run/ovn/ovnsb_db.sock,tcp:10.0.0.1:6642")


def test_first_encap_per_chassis_keeps_the_first_address_of_each_chassis():
    pairs = [("compute-1", "10.0.1.5"), ("compute-2", "10.0.1.6"), ("compute-1", "10.0.9.5")]

    assert ovsdb_client.first_encap_per_chassis(pairs) == {"compute-1": "10.0.1.5", "compute-2": "10.0.1.6"}


def test_first_encap_per_chassis_skips_encaps_of_no_chassis():
    assert ovsdb_client.first_encap_per_chassis([("", "10.0.1.5")]) == {}


def test_client_certificate_of_a_charm_is_its_client_service_certificate():
    files = paths.CharmFiles(Path("/var/lib/charmed-ovn/ovn-chassis"))

    assert ovsdb_client.ClientCertificate.of(files) == ovsdb_client.ClientCertificate(
        private_key=Path("/var/lib/charmed-ovn/ovn-chassis/pki/client-privkey.pem"),
        certificate=Path("/var/lib/charmed-ovn/ovn-chassis/pki/client-cert.pem"),
        ca_cert=Path("/var/lib/charmed-ovn/ovn-chassis/pki/cacert.pem"),
    )


def test_a_tls_remote_without_a_client_certificate_is_refused():
    with pytest.raises(ValueError, match="needs a client certificate"):
        ovsdb_client.fetch_schema("ssl:10.0.0.1:6642", ovsdb_client.SOUTHBOUND)


# --- the schema request, against a peer on a unix socket ----------------------------------------


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Callable[[Callable[[dict], dict | None]], str]]:
    """Start a one-connection JSON-RPC peer answering with `respond(request)` (None: silence);
    returns its remote."""
    path = tmp_path / "db.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    threads = []

    def serve(respond: Callable[[dict], dict | None]) -> None:
        conn, _ = server.accept()
        with conn:
            request = json.loads(conn.recv(65536))
            reply = respond(request)
            if reply is not None:
                conn.sendall(json.dumps({"id": request["id"], **reply}).encode())
            conn.recv(1)  # until the client closes

    def start(respond: Callable[[dict], dict | None]) -> str:
        thread = threading.Thread(target=serve, args=(respond,), daemon=True)
        thread.start()
        threads.append(thread)
        return f"unix:{path}"

    yield start
    server.close()
    for thread in threads:
        thread.join(timeout=5)


def test_active_schema_version_is_the_version_of_the_schema_the_server_sends(peer):
    requests = []

    def respond(request):
        requests.append(request)
        return {"result": {"name": "OVN_Northbound", "version": "7.3.0", "tables": {}}, "error": None}

    remote = peer(respond)

    assert ovsdb_client.active_schema_version(remote, ovsdb_client.NORTHBOUND) == "7.3.0"
    assert [(r["method"], r["params"]) for r in requests] == [("get_schema", ["OVN_Northbound"])]


def test_active_schema_version_is_none_when_the_server_refuses(peer):
    remote = peer(lambda request: {"result": None, "error": "unknown database"})

    assert ovsdb_client.active_schema_version(remote, ovsdb_client.NORTHBOUND) is None


def test_select_rows_reads_the_columns_of_every_row_in_one_transaction(peer):
    rows = [{"external_ids": ["map", [["charmed-ovn-bgp-chassis", "compute-1"]]]}]
    requests: list[dict] = []

    def respond(request: dict) -> dict:
        requests.append(request)
        return {"result": [{"rows": rows}], "error": None}

    remote = peer(respond)

    assert ovsdb_client.select_rows(remote, ovsdb_client.NORTHBOUND, "Logical_Router", ["external_ids"]) == rows
    assert [(r["method"], r["params"]) for r in requests] == [
        ("transact", ["OVN_Northbound", {"op": "select", "table": "Logical_Router", "where": [], "columns": ["external_ids"]}])
    ]


def test_fetch_schema_gives_up_at_the_deadline_when_the_server_never_answers(peer):
    remote = peer(lambda request: None)
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            ovsdb_client.fetch_schema(remote, ovsdb_client.SOUTHBOUND, timeout=0.5)
        except ovsdb_client.OvsdbUnavailableError as e:
            outcome.append(e)

    started = time.monotonic()
    client = threading.Thread(target=fetch, daemon=True)
    client.start()
    client.join(timeout=5)  # a client without a deadline would still be waiting

    assert not client.is_alive()
    assert [str(e) for e in outcome] == [f"no OVN_Southbound schema from {remote}: {remote}: no answer in time"]
    assert time.monotonic() - started >= 0.5


def test_fetch_schema_names_every_remote_that_failed(tmp_path):
    remotes = f"unix:{tmp_path}/a.sock,unix:{tmp_path}/b.sock"

    with pytest.raises(ovsdb_client.OvsdbUnavailableError) as failure:
        ovsdb_client.fetch_schema(remotes, ovsdb_client.SOUTHBOUND, timeout=1)

    assert f"unix:{tmp_path}/a.sock: " in str(failure.value)
    assert f"unix:{tmp_path}/b.sock: " in str(failure.value)


def test_southbound_reports_no_chassis_while_no_server_answers(tmp_path):
    southbound = ovsdb_client.Southbound(f"unix:{tmp_path}/missing.sock", timeout=1)

    assert southbound.chassis_registered("compute-1") is False
    assert southbound.chassis_encaps() is None
    southbound.close()
