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

import datetime
import fcntl
import json
import os
import subprocess
import sys
import sysconfig
import uuid
import zipfile
from pathlib import Path
from typing import Any

import fault
import hooktools
import juju_log

TOOLS_DIR = Path(__file__).resolve().parent / "tools"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Set by `faketime` around the agent (LD_PRELOAD, FAKETIME*): the hook and its tools must see
# the same clock. Everything else comes from Juju's hook environment below.
INHERITED_PREFIXES = ("LD_PRELOAD", "FAKETIME", "FAKERANDOM", "LANG")
OUTPUT_TAIL = 4000


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
    """Every hook tool name as a link to hooktools.py, juju-log to juju_log.py (idempotent)."""
    TOOLS_DIR.mkdir(exist_ok=True)
    program = Path(hooktools.__file__).resolve()
    links = dict.fromkeys(hooktools.TOOL_NAMES, program) | {"juju-log": program.with_name("juju_log.py")}
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
    run = subprocess.run(
        ["./dispatch"],
        cwd=context["charm_dir"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
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
        outcome.update(exit_code=run.returncode, output=hook_log[-OUTPUT_TAIL:])
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
