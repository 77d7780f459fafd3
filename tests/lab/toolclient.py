#!/usr/bin/python3 -S
"""What a charm runs as a hook tool in the lab (relation-get, status-set, juju-log, ...): a
client of the unit agent, as Juju's jujuc is of the uniter. It hands its arguments, environment,
working directory and standard streams (the file descriptors themselves, over the agent's unix
socket) to the agent, which runs the tool (hooktools.py, juju_log.py) in a process forked from
its own, already loaded, and passes back the exit code. A tool call then costs this small
program's start (no site, no imports beyond the interpreter's own) rather than a Python start
with the tools' imports, once per call: ops calls tools dozens of times per hook.

Standard library only, and only what the interpreter has built in.
"""

import _socket
import os
import sys

SOCKET_ENV = "LAB_TOOL_SOCKET"


def request(argv: list[str], environ: dict[str, str], cwd: str) -> bytes:
    """The request: cwd, tool name, argument count, arguments, KEY=VALUE pairs, NUL-separated."""
    items = [cwd, argv[0].rpartition("/")[2], str(len(argv) - 1), *argv[1:], *(f"{k}={v}" for k, v in environ.items())]
    payload = "\0".join(items).encode("utf-8", "surrogateescape")
    return len(payload).to_bytes(8, "big") + payload


def main() -> int:
    path = os.environ.get(SOCKET_ENV)
    if not path:
        sys.stderr.write(f"ERROR not running in a hook context (no {SOCKET_ENV})\n")
        return 2
    streams = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:  # a closed standard stream: the tool gets /dev/null there
            fd = os.open(os.devnull, os.O_RDWR)
        streams.append(fd)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(path)
    data = request(sys.argv, dict(os.environ), os.getcwd())
    fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in streams)
    sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
    while sent < len(data):
        sent += sock.send(data[sent:])
    code = b""
    while len(code) < 4:
        chunk = sock.recv(4 - len(code))
        if not chunk:
            sys.stderr.write("ERROR the unit agent closed the connection\n")
            return 1
        code += chunk
    return int.from_bytes(code, "big", signed=True)


if __name__ == "__main__":
    sys.exit(main())
