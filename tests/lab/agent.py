"""The lab's unit agent: runs ONE hook of a unit, on the unit's machine, as Juju's agent does.

The lab (tests/lab/model.py) stands in for the Juju controller. For each hook it writes the
unit's view of the model (leadership, config, relation databags, secrets, network bindings,
statuses, the event; hooktools.py documents it) into a context file on the machine, 0600, and
runs this script there with the machine's own Python:

    python3 agent.py hook CONTEXT.json

At deploy, `python3 agent.py unpack ARCHIVE CHARM_DIR` unzips the unit's .charm into its charm
directory, /var/lib/juju/agents/unit-<app>-<n>/charm, file modes kept, as Juju does.

The agent runs the charm's `dispatch` in the unit's charm directory (the unpacked .charm) with
Juju's environment for the event, and Juju's hook tools (hooktools.py, one program under every
tool name but juju-log, which is juju_log.py) first on PATH. The charm runs exactly as under
Juju: its own vendored ops and dependencies, ops' stored state and deferred events in the
charm directory's `.unit-state.db`, collect-status, and every model read or write through a hook tool. The tools record the hook's
changes in the context file; the agent adds the hook's exit code and output, and the controller
reads the file back (and deletes it: it holds secret content). The charm's log (juju-log) and
the hook's output go to /var/log/juju/unit-<app>-<n>.log; what the hook added there is also
the "output" the controller shows for a failed hook. Standard library only.
"""

from __future__ import annotations

import array
import datetime
import fcntl
import json
import os
import select
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
import uuid
import zipfile
from pathlib import Path
from typing import Any

import fault
import hooktools
import juju_log
import toolclient

TOOLS_DIR = Path(__file__).resolve().parent / "tools"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Set by `faketime` around the agent (LD_PRELOAD, FAKETIME*): the hook and its tools must see
# the same clock. Everything else comes from Juju's hook environment below.
INHERITED_PREFIXES = ("LD_PRELOAD", "FAKETIME", "FAKERANDOM", "LANG")
OUTPUT_TAIL = 4000
TOOL_POLL_S = 0.02  # how soon the agent notices the hook has ended


def hook_name(context: dict[str, Any]) -> str:
    """`install`, `cluster-relation-changed`, `secret-changed`...; "" for an action."""
    event = context["event"]
    kind = event["kind"]
    if kind == "action":
        return ""
    if kind.startswith("relation_"):
        relation = hooktools.relation_by_id(context, int(event["relation_id"]))
        if relation is None:
            raise RuntimeError(f"event {event} names a relation the unit does not see")
        return f"{relation['endpoint']}-{kind.replace('_', '-')}"
    return kind.replace("_", "-")


def hook_environment(context: dict[str, Any], context_path: Path, inherited: dict[str, str]) -> dict[str, str]:
    """The environment Juju gives a hook (what ops.JujuContext reads), plus the tools' own."""
    event = context["event"]
    hook = hook_name(context)
    env = {key: value for key, value in inherited.items() if key.startswith(INHERITED_PREFIXES)}
    env.update(
        PATH=f"{TOOLS_DIR}:{SYSTEM_PATH}",
        HOME="/root",
        JUJU_CHARM_DIR=context["charm_dir"],
        CHARM_DIR=context["charm_dir"],
        JUJU_UNIT_NAME=context["unit"],
        JUJU_MODEL_NAME=context["model_name"],
        JUJU_MODEL_UUID=context["model_uuid"],
        JUJU_MACHINE_ID=context["machine_id"],
        JUJU_VERSION=context["juju_version"],
        JUJU_HOOK_NAME=hook,
        JUJU_DISPATCH_PATH=f"actions/{event['action']}" if event["kind"] == "action" else f"hooks/{hook}",
        JUJU_CONTEXT_ID=f"{context['unit']}-{hook or event['action']}-{uuid.uuid4().int % 10**19}",
        **{hooktools.CONTEXT_ENV: str(context_path), juju_log.UNIT_LOG_ENV: context["log_file"]},
    )
    if event["kind"].startswith("relation_"):
        relation = hooktools.relation_by_id(context, int(event["relation_id"]))
        assert relation is not None  # hook_name checked it
        env.update(
            JUJU_RELATION=relation["endpoint"],
            JUJU_RELATION_ID=f"{relation['endpoint']}:{relation['id']}",
            JUJU_REMOTE_APP=relation["remote_app_name"],
        )
        if event.get("remote_unit"):
            env["JUJU_REMOTE_UNIT"] = event["remote_unit"]
        if event.get("departing_unit"):
            env["JUJU_DEPARTING_UNIT"] = event["departing_unit"]
    if event["kind"].startswith("secret_"):
        env["JUJU_SECRET_ID"] = event["secret_id"]
        secret = next((s for s in context["state"]["secrets"] if s["id"] == event["secret_id"]), None)
        if secret and secret["label"]:  # the owner's label, or the one this consumer gave it
            env["JUJU_SECRET_LABEL"] = secret["label"]
        if event.get("revision") is not None:
            env["JUJU_SECRET_REVISION"] = str(event["revision"])
    if event["kind"] == "action":
        env.update(JUJU_ACTION_NAME=event["action"], JUJU_ACTION_UUID=context["action"]["uuid"])
    if context.get("fault"):  # the lab's fault hook (fault.py), for this hook only
        env[fault.ENV] = context["fault"]
    return env


def install_fault_hook() -> None:
    """lab-fault.pth in the machine Python's site-packages (idempotent); inert without LAB_FAULT."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    pth = site_packages / fault.PTH_NAME
    line = fault.pth_line(str(Path(fault.__file__).resolve()))
    if not pth.exists() or pth.read_text() != line:
        site_packages.mkdir(parents=True, exist_ok=True)
        pth.write_text(line)


def install_tools() -> None:
    """Every hook tool name, juju-log too, as a link to toolclient.py (idempotent)."""
    TOOLS_DIR.mkdir(exist_ok=True)
    client = Path(hooktools.__file__).resolve().with_name("toolclient.py")
    links = dict.fromkeys((*hooktools.TOOL_NAMES, "juju-log"), client)
    for name, target in links.items():
        target.chmod(0o755)
        link = TOOLS_DIR / name
        if not link.is_symlink() or link.readlink() != target:
            link.unlink(missing_ok=True)
            link.symlink_to(target)


def log_lines(log_file: str, lines: list[str]) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    with open(log_file, "a") as log:
        log.writelines(f"{stamp} {line}\n" for line in lines)


def unpack_charm(archive: Path, charm_dir: Path) -> None:
    """Unzip a .charm as Juju's agent does, keeping each file's mode (dispatch and the charm's
    entry point are executable)."""
    with zipfile.ZipFile(archive) as charm:
        for info in charm.infolist():
            extracted = Path(charm.extract(info, charm_dir))
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                extracted.chmod(mode)


class ToolServer:
    """The agent's end of the hook tools (toolclient.py): each call runs the tool it names in
    a child forked from this process, which has hooktools and juju_log loaded already, on the
    caller's own standard streams, with its environment and working directory; the caller
    gets the exit code. One call at a time, as a hook's tools run one after another."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)

    def serve_until_exit(self, process: subprocess.Popen[bytes]) -> int:
        """Answer tool calls until `process` (the hook's dispatch) has exited; its exit code."""
        while True:
            ready, _, _ = select.select([self.listener], [], [], TOOL_POLL_S)
            if ready:
                self._answer(self.listener.accept()[0])
            elif (code := process.poll()) is not None:
                return code

    def close(self) -> None:
        self.listener.close()
        self.path.unlink(missing_ok=True)

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            fds: list[int] = []
            data, ancillary, _, _ = connection.recvmsg(65536, socket.CMSG_SPACE(3 * array.array("i").itemsize))
            for level, kind, payload in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    fds += array.array("i", payload[: len(payload) - len(payload) % array.array("i").itemsize])
            while 0 < len(data) < 8:
                data += connection.recv(8 - len(data))
            size = int.from_bytes(data[:8], "big")
            while len(data) < size + 8:
                chunk = connection.recv(size + 8 - len(data))
                if not chunk:
                    break
                data += chunk
            try:
                code = self._run_tool(data[8:].decode("utf-8", "surrogateescape"), fds)
            finally:
                for fd in fds:
                    os.close(fd)
            connection.sendall(code.to_bytes(4, "big", signed=True))

    @staticmethod
    def _run_tool(payload: str, fds: list[int]) -> int:
        cwd, name, count, *rest = payload.split("\0")
        argv, environ = rest[: int(count)], dict(item.partition("=")[::2] for item in rest[int(count):])
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:  # the tool, as if the caller had run it
            code = 1
            try:
                for target, fd in enumerate(fds[:3]):
                    os.dup2(fd, target)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(environ)
                sys.argv = [name, *argv]
                code = juju_log.main() if name == "juju-log" else hooktools.main()
            except SystemExit as leaving:
                code = leaving.code if isinstance(leaving.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(child, 0)
        return os.waitstatus_to_exitcode(status)


def run_hook(context_path: Path) -> None:
    context = json.loads(context_path.read_text())
    install_tools()
    if context.get("fault"):
        install_fault_hook()
    log_file = Path(context["log_file"])
    log_file.parent.mkdir(parents=True, exist_ok=True)  # juju-log appends to it
    log_file.touch()
    log_start = log_file.stat().st_size
    env = hook_environment(context, context_path, dict(os.environ))
    what = f'"{env["JUJU_HOOK_NAME"]}" hook' if env["JUJU_HOOK_NAME"] else f'"{context["event"]["action"]}" action'
    tools = ToolServer(context_path.with_suffix(".tools.sock"))
    env[toolclient.SOCKET_ENV] = str(tools.path)
    # The hook's output goes to a file: the agent serves tool calls meanwhile, and a pipe
    # nobody reads would fill and stall the hook.
    with tempfile.TemporaryFile() as output:
        try:
            started = time.monotonic()
            dispatch = subprocess.Popen(["./dispatch"], cwd=context["charm_dir"], env=env, stdin=subprocess.DEVNULL,
                                        stdout=output, stderr=subprocess.STDOUT)
            returncode = tools.serve_until_exit(dispatch)
            dispatch_seconds = time.monotonic() - started  # the hook as the charm costs it (benchmarks)
        finally:
            tools.close()
        output.seek(0)
        run = subprocess.CompletedProcess(["./dispatch"], returncode, output.read().decode(errors="replace"))
    source = f"unit.{context['unit']}.{env['JUJU_HOOK_NAME'] or context['event']['action']}"
    lines = [f"WARNING {source}: {line}" for line in run.stdout.splitlines()]
    if run.returncode == 0:
        lines.append(f"INFO juju.worker.uniter.operation ran {what} (via hook dispatching script: dispatch)")
    else:
        lines.append(
            f"ERROR juju.worker.uniter.operation {what} (via hook dispatching script: dispatch) "
            f"failed: exit status {run.returncode}"
        )
    log_lines(context["log_file"], lines)
    with log_file.open("rb") as log:
        log.seek(log_start)
        hook_log = log.read().decode(errors="replace")  # juju-log lines (ops' traceback) and output
    with context_path.open("r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        outcome = json.load(handle)
        outcome.update(exit_code=run.returncode, output=hook_log[-OUTPUT_TAIL:], dispatch_seconds=round(dispatch_seconds, 4))
        handle.seek(0)
        handle.truncate()
        json.dump(outcome, handle)


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "unpack":
        unpack_charm(Path(args[0]), Path(args[1]))
    elif command == "hook":
        run_hook(Path(args[0]))
    else:
        sys.exit(f"usage: agent.py unpack ARCHIVE CHARM_DIR | agent.py hook CONTEXT (not {command!r})")


if __name__ == "__main__":
    main()
