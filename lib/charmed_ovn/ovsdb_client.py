"""OVN's databases as a client reads them, through ovsdbapp: the chassis the Southbound lists,
where their tunnels end, and the schema version a running database has.

A hook is one process: it opens at most one Southbound connection, on its first query, and closes
it when the hook ends (`Southbound.close`). Over TLS the unit presents its `client` certificate;
on a central unit the local unix sockets need none. Every network step has a deadline, so a
database that does not answer costs a hook seconds, never the hook.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovs import jsonrpc, poller, stream, timeval
from ovsdbapp import exceptions
from ovsdbapp.backend.ovs_idl import connection, idlutils
from ovsdbapp.schema.ovn_southbound import impl_idl

from charmed_ovn import paths, pki

# ovsdbapp logs every index it creates at DEBUG, dozens per connection: each one a juju-log call.
logging.getLogger("ovsdbapp").setLevel(logging.INFO)

SOUTHBOUND = "OVN_Southbound"
NORTHBOUND = "OVN_Northbound"
TIMEOUT_S = 10.0
# The only Southbound columns the bundle reads: a full replica of a large Southbound is big.
SOUTHBOUND_COLUMNS = {"Chassis": ["name"], "Encap": ["chassis_name", "ip"]}


class OvsdbUnavailableError(RuntimeError):
    """No server of the remotes answered in time."""


@dataclass(frozen=True)
class ClientCertificate:
    """The files of the certificate a client presents to a TLS remote."""

    private_key: Path
    certificate: Path
    ca_cert: Path

    @classmethod
    def of(cls, files: paths.CharmFiles) -> ClientCertificate:
        """The unit's `client` certificate, which every central member accepts."""
        return cls(files.private_key(pki.CLIENT_SERVICE), files.certificate(pki.CLIENT_SERVICE), files.ca_cert)


def uses_tls(remotes: str) -> bool:
    """Whether any of the comma-separated remotes is a TLS one (`ssl:`)."""
    return any(remote.startswith("ssl:") for remote in idlutils.parse_connection(remotes))


def first_encap_per_chassis(encaps: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Chassis name -> its first encapsulation address, from (chassis_name, ip) pairs."""
    first: dict[str, str] = {}
    for chassis_name, ip in encaps:
        if chassis_name:
            first.setdefault(chassis_name, ip)
    return first


# --- machine adapters ---------------------------------------------------------------------------


def _present(certificate: ClientCertificate | None, remotes: str) -> None:
    """Make the process's TLS streams present `certificate` (python-ovs keeps one per process)."""
    if not uses_tls(remotes):
        return
    if certificate is None:
        raise ValueError(f"{remotes} needs a client certificate")
    stream.Stream.ssl_set_private_key_file(str(certificate.private_key))
    stream.Stream.ssl_set_certificate_file(str(certificate.certificate))
    stream.Stream.ssl_set_ca_cert_file(str(certificate.ca_cert))


def _transact(rpc: jsonrpc.Connection, request: jsonrpc.Message, deadline_ms: float) -> Any:
    """The reply's result: `jsonrpc.Connection.transact_block` with a deadline, which it lacks."""
    error = rpc.send(request)
    while not error:
        error, reply = rpc.recv()
        if error == errno.EAGAIN:
            if timeval.msec() >= deadline_ms:
                raise OvsdbUnavailableError("no answer in time")
            rpc.run()
            waiter = poller.Poller()
            rpc.wait(waiter)
            rpc.recv_wait(waiter)
            waiter.timer_wait_until(deadline_ms)
            waiter.block()
            error = 0
        elif not error and reply.id == request.id:
            if reply.error:
                raise OvsdbUnavailableError(str(reply.error))
            return reply.result
    raise OvsdbUnavailableError(os.strerror(error) if error > 0 else "connection closed")


def _request(remote: str, method: str, params: list[Any], deadline_ms: float) -> Any:
    """One JSON-RPC request to one remote, within the deadline."""
    try:
        timeout_ms = max(0, int(deadline_ms - timeval.msec()))
        error, connected = stream.Stream.open_block(stream.Stream.open(remote), timeout_ms)
    except OSError as e:  # e.g. the certificate files cannot be read
        raise OvsdbUnavailableError(f"{remote}: {e}") from None
    if error:
        raise OvsdbUnavailableError(f"{remote}: {os.strerror(error)}")
    rpc = jsonrpc.Connection(connected)
    try:
        return _transact(rpc, jsonrpc.Message.create_request(method, params), deadline_ms)
    except OvsdbUnavailableError as e:
        raise OvsdbUnavailableError(f"{remote}: {e}") from None
    finally:
        rpc.close()


def _first_answer(
    remotes: str, what: str, request: tuple[str, list[Any]], certificate: ClientCertificate | None, timeout: float
) -> Any:
    """The result from the first of `remotes` that answers; OvsdbUnavailableError when none does
    within `timeout` seconds."""
    _present(certificate, remotes)
    deadline_ms = timeval.msec() + timeout * 1000
    failures = []
    for remote in idlutils.parse_connection(remotes):
        try:
            return _request(remote, *request, deadline_ms)
        except OvsdbUnavailableError as e:
            failures.append(str(e))
    raise OvsdbUnavailableError(f"no {what} from {remotes}: {'; '.join(failures)}")


def fetch_schema(
    remotes: str, database: str, certificate: ClientCertificate | None = None, timeout: float = TIMEOUT_S
) -> dict[str, Any]:
    """The schema of `database` on the first of `remotes` that answers."""
    return _first_answer(remotes, f"{database} schema", ("get_schema", [database]), certificate, timeout)


def select_rows(
    remotes: str, database: str, table: str, columns: list[str],
    certificate: ClientCertificate | None = None, timeout: float = TIMEOUT_S,
) -> list[dict[str, Any]]:
    """`columns` of every row of `table`, in OVSDB's JSON notation: one read, no replica (an IDL
    would copy the whole database to read a few cells)."""
    select = {"op": "select", "table": table, "where": [], "columns": columns}
    reply = _first_answer(remotes, f"{database} {table} rows", ("transact", [database, select]), certificate, timeout)
    return reply[0]["rows"]


def active_schema_version(
    remotes: str, database: str, certificate: ClientCertificate | None = None, timeout: float = TIMEOUT_S
) -> str | None:
    """The schema version the running `database` has; None when no server answers."""
    try:
        return fetch_schema(remotes, database, certificate, timeout)["version"]
    except OvsdbUnavailableError:
        return None


class OwnConnection:
    """ovsdbapp's `ovsdb_connection`, kept per API object: `ovsdb_connection = OwnConnection()`
    in a subclass of an ovsdbapp API class.

    ovsdbapp keeps the first connection given to an API class for the whole process (a class
    attribute) and silently ignores the connections of later API objects.
    """

    def __get__(self, api: object, owner: type | None = None) -> Any:
        return vars(api).get("_own_connection") if api is not None else None

    def __set__(self, api: object, value: Any) -> None:
        vars(api)["_own_connection"] = value


class _SouthboundApi(impl_idl.OvnSbApiIdlImpl):
    ovsdb_connection = OwnConnection()


class Southbound:
    """The Southbound database for one hook: connected on the first query, closed by `close`.

    Reads only, from whichever server answers (a raft follower will do). A query while no server
    answers reports what a missing database means to the caller, and the next query tries again.
    """

    def __init__(self, remotes: str, certificate: ClientCertificate | None = None, timeout: float = TIMEOUT_S):
        self.remotes = remotes
        self._certificate = certificate
        self._timeout = timeout
        self._api: _SouthboundApi | None = None
        self._connection: connection.Connection | None = None

    def _connected(self) -> _SouthboundApi:
        api, conn = self._api, self._connection
        if api is None or conn is None:
            helper = idlutils.create_schema_helper(
                fetch_schema(self.remotes, SOUTHBOUND, self._certificate, self._timeout)
            )
            for table, columns in SOUTHBOUND_COLUMNS.items():
                helper.register_columns(table, columns)
            idl = connection.OvsdbIdl(self.remotes, helper, leader_only=False)
            conn = connection.Connection(idl, self._timeout)
            api = _SouthboundApi(conn, start=False)
            self._api, self._connection = api, conn
        if not conn.is_running:
            try:
                api.start_connection(conn)
            except exceptions.OvsdbConnectionUnavailable as e:
                raise OvsdbUnavailableError(str(e)) from None
        return api

    def chassis_registered(self, name: str) -> bool:
        """Whether a Chassis row named `name` exists; False while no server answers."""
        try:
            api = self._connected()
        except OvsdbUnavailableError:
            return False
        return bool(api.db_find_rows("Chassis", ("name", "=", name)).execute(check_error=True))

    def chassis_encaps(self) -> dict[str, str] | None:
        """Every chassis and its (first) encapsulation address; None while no server answers."""
        try:
            api = self._connected()
        except OvsdbUnavailableError:
            return None
        rows = api.db_list("Encap", columns=["chassis_name", "ip"]).execute(check_error=True)
        return first_encap_per_chassis((row["chassis_name"], row["ip"]) for row in rows)

    def close(self) -> None:
        """Close the connection, if the hook opened one."""
        if self._connection is not None:
            self._connection.stop()
            self._connection.idl.close()  # stop() closes it only once started
            self._api = self._connection = None
