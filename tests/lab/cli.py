"""`python -m tests.lab COMMAND`: the lab's juju-like command line."""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay

from tests.lab import machines, network, vms
from tests.lab.model import LabError, Model, open_model, read_model, vm_mac

# How often `wait` looks again while nothing runs: for messages from related models, hook
# retries, update-status timers and leases, which fire on their own clock, not on ours.
POLL_INTERVAL_S = 1.0


def split_assignment(item: str) -> tuple[str, str | None, str]:
    """A k=v argument as (key, the text of k=@FILE's file or None, the value as typed)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise LabError(f"expected key=value, got {item!r}")
    return key, Path(value[1:]).read_text() if value.startswith("@") else None, value


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """k=v arguments; values parsed as YAML scalars (true, 3, text) like `juju run` does;
    k=@FILE takes the file's text as it is (for PEM and other multi-line values)."""
    result: dict[str, Any] = {}
    for item in items:
        key, file_text, value = split_assignment(item)
        if file_text is not None:
            result[key] = file_text
        else:
            result[key] = yaml.safe_load(value) if value else ""
    return result


def parse_config_values(items: list[str]) -> dict[str, str]:
    """`juju config` k=v arguments: each value the text as typed, never read as YAML (the
    controller parses it for the option's type: `asn=0x10` stays "0x10"); k=@FILE takes the
    file's text as it is."""
    result: dict[str, str] = {}
    for item in items:
        key, file_text, value = split_assignment(item)
        result[key] = value if file_text is None else file_text
    return result


def cmd_deploy(args: argparse.Namespace) -> int:
    with open_model(args.model, create=True) as model:
        model.set_model_config(parse_strings(args.config), datetime.now(UTC).timestamp())
        model.set_underlay(args.underlay)
        model.deploy(Path(args.bundle).resolve(), [Path(overlay).resolve() for overlay in args.overlay])
        print(f"Deployed {args.bundle} to model {args.model!r}: "
              f"{len(model.data['machines'])} machines, {len(model.units)} units. Run `wait`.")
    return 0


def parse_strings(items: list[str]) -> dict[str, str]:
    """k=v arguments taken as text (model config values are strings, e.g. `5m`)."""
    return {key: str(value) for key, value in parse_assignments(items).items()}


def render_status(model: Model) -> str:
    """`juju status`, tabular: an application's Version is its leader's workload version."""
    lines = [f"Model {model.name}", "", f"{'App':<16}{'Version':<20}{'Units':<7}{'Status':<10}Message"]
    for app, spec in sorted(model.apps.items()):
        status = model.application_status(app)
        version = model.units.get(spec["leader"] or "", {}).get("workload_version") or ""
        lines.append(f"{app:<16}{version:<20}{len(spec['units']):<7}{status['name']:<10}{status['message']}")
    lines += ["", f"{'Unit':<18}{'Workload':<12}{'Version':<20}{'Machine':<9}{'Address':<13}Message"]
    for unit in sorted(model.units, key=lambda u: (model.app_of(u), model.unit_number(u))):
        spec = model.units[unit]
        machine = model.data["machines"][spec["machine"]]
        leader = "*" if model.apps[model.app_of(unit)]["leader"] == unit else ""
        status = model.workload_status(unit)
        queued = f" ({len(spec['queue'])} queued)" if spec["queue"] else ""
        address = machines.load_machine(machine["host"]).addresses.get("lab0", "")
        version = spec.get("workload_version") or ""
        lines.append(
            f"{unit + leader:<18}{status['name']:<12}{version:<20}{spec['machine']:<9}{address:<13}{status['message']}{queued}"
        )
    lines += ["", f"{'Machine':<9}{'State':<10}{'Address':<13}Host"]
    for machine_id, machine in sorted(model.data["machines"].items(), key=lambda m: int(m[0])):
        address = machines.load_machine(machine["host"]).addresses.get("lab0", "")
        lines.append(f"{machine_id:<9}{machine['state']:<10}{address:<13}{machine['host']}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    print(render_status(read_model(args.model)))  # as `juju status`, it does not wait for running hooks
    return 0


def settle(model_names: list[str], timeout: float, *, active: bool = True) -> bool:
    """Run queued hooks until every unit of the models is active and idle, like `juju wait-for`.
    Models related across (saas) settle together: each one's hooks feed the other's.

    Nothing is run early: update-status fires on each unit's own timer (model config
    `update-status-hook-interval`), a dead leader's lease expires after `leader-lease-timeout`.
    `active=False` only waits until no hook is queued, whatever the units' status.
    """

    def tick_one(model_name: str) -> str:
        with open_model(model_name) as model:
            if model.run_hooks():
                return "busy"
            return "settled" if (model.settled() if active else model.idle()) else "idle"

    def tick() -> str:
        outcomes = {tick_one(name) for name in model_names}
        if "busy" in outcomes:
            return "busy"
        return "settled" if outcomes == {"settled"} else "idle"

    def wait_for(state: Any) -> float:
        return 0.0 if state.outcome.result() == "busy" else POLL_INTERVAL_S

    try:
        for attempt in Retrying(
            retry=retry_if_result(lambda outcome: outcome != "settled"),
            stop=stop_after_delay(timeout),
            wait=wait_for,
        ):
            with attempt:
                outcome = tick()
            if not attempt.retry_state.outcome.failed:
                attempt.retry_state.set_result(outcome)
    except RetryError:
        return False
    return True


def cmd_wait(args: argparse.Namespace) -> int:
    ok = settle([args.model, *args.with_models], args.timeout, active=not args.idle)
    with open_model(args.model) as model:
        print(render_status(model))
        if not ok:
            for unit, spec in model.units.items():
                if spec["error"]:
                    print(f"\n{unit} last error:\n{spec['error']}", file=sys.stderr)
            if model.idle():
                print(f"\nnothing is queued: {stalled_units(model)}", file=sys.stderr)
            print(f"\nnot settled after {args.timeout:.0f}s", file=sys.stderr)
    return 0 if ok else 1


def stalled_units(model: Model) -> str:
    """Which units wait for an event that does not come, and when update-status next comes."""
    now = datetime.now(UTC).timestamp()
    waiting = []
    for unit, spec in sorted(model.units.items()):
        status = model.workload_status(unit)
        if status["name"] != "active" and model.machine_running(spec["machine"]):
            due = spec.get("next_update_status")
            next_run = f"update-status in {due - now:.0f}s" if due else "no update-status timer yet"
            waiting.append(f"{unit} ({status['name']}: {status['message']}; {next_run})")
    return "; ".join(waiting) or "no unit waits"


def cmd_config(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        if args.app not in model.apps:
            raise LabError(f"no application {args.app!r}")
        if not args.values:
            print(yaml.safe_dump(model.apps[args.app]["config"], sort_keys=True), end="")
            return 0
        model.set_config(args.app, parse_config_values(args.values))
    return 0


def cmd_model_config(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        if args.values:
            model.set_model_config(parse_strings(args.values), datetime.now(UTC).timestamp())
        else:
            print(yaml.safe_dump(model.model_config(), sort_keys=True), end="")
    return 0


def cmd_show_status_log(args: argparse.Namespace) -> int:
    """`juju show-status-log UNIT`: the unit's workload statuses, oldest first."""
    history = read_model(args.model).status_log(args.unit)
    if args.format == "json":
        print(json.dumps(history))
        return 0
    for entry in history:
        print(f"{entry['since']}  workload  {entry['name']:<12} {entry['message']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    # Juju's agents keep running hooks; `juju run` waits for none of them, nor for active units
    # (a paused unit is in maintenance). The hooks queued before the action run first, and those
    # the action caused run before the command returns, so that what it printed is settled.
    if not settle([args.model], args.timeout, active=False):
        print("warning: hooks are still queued; running the action anyway", file=sys.stderr)
    with open_model(args.model) as model:
        unit = model.resolve_unit(args.unit)
        result = model.run_action(unit, args.action, parse_assignments(args.params))
    settle([args.model], args.timeout, active=False)
    output: dict[str, Any] = {"unit": unit, "results": result.get("action_results") or {}}
    if result.get("action_logs"):
        output["log"] = result["action_logs"]
    if "action_failed" in result:
        output["status"] = "failed"
        output["message"] = result["action_failed"]
        print(yaml.safe_dump(output, sort_keys=False), end="")
        return 1
    output["status"] = "completed"
    print(yaml.safe_dump(output, sort_keys=False), end="")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        machine = model.resolve_target(args.target)
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    result = machine.run(argv, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def cmd_add_unit(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        if args.app not in model.apps:
            raise LabError(f"no application {args.app!r}")
        for _ in range(args.num_units):
            print(f"added {model.add_unit(args.app, args.to)}")
    return 0


def cmd_add_machine(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        for _ in range(args.num_machines):
            print(f"created machine {model.add_machine()}")
    return 0


def cmd_integrate(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.relate(args.a, args.b)
    return 0


def cmd_remove_relation(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.remove_relation(args.a, args.b)
    return 0


def parse_link_end(text: str) -> tuple[str, str]:
    machine_id, sep, interface = text.partition(":")
    if not sep or not machine_id or not interface:
        raise LabError(f"expected MACHINE:INTERFACE, got {text!r}")
    return machine_id, interface


def cmd_link(args: argparse.Namespace) -> int:
    (machine_a, if_a), (machine_b, if_b) = parse_link_end(args.a), parse_link_end(args.b)
    with open_model(args.model) as model:
        model.link(machine_a, if_a, machine_b, if_b)
    print(f"linked machine {machine_a} {if_a} <-> machine {machine_b} {if_b}")
    return 0


def cmd_remove_unit(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        for name in args.units:
            model.remove_principal_unit(model.resolve_unit(name), force=args.force)
    return 0


def cmd_rerun_hook(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.rerun_hook(model.resolve_unit(args.unit), args.hook)
    return 0


def cmd_inject_fault(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.inject_fault(model.resolve_unit(args.unit), args.target, args.after)
    return 0


def cmd_offer(args: argparse.Namespace) -> int:
    app, _, endpoint = args.endpoint.partition(":")
    with open_model(args.model) as model:
        print(f"offered as {model.offer(app, endpoint)}")
    return 0


def cmd_advance_clock(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.advance_clock(args.days * 86400)
        print(f"hooks of model {args.model!r} now run at {model.now().isoformat(timespec='seconds')}")
    return 0


def cmd_kill_machine(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.kill_machine(args.machine)
    return 0


def cmd_cut_network(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.cut_network(args.machine, args.network, plugged=args.heal)
    return 0


def cmd_restart_machine(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.restart_machine(args.machine)
    return 0


def cmd_vm_add(args: argparse.Namespace) -> int:
    interfaces = [ipaddress.ip_interface(ip) for ip in args.ip]
    mac = vm_mac(args.name)
    with open_model(args.model) as model:
        machine = model.machine_of(model.resolve_unit(args.chassis))
    # The chassis machine's own client wrappers reach the NB over TLS: the tools as operators use them.
    create = machine.run(
        ["ovn-nbctl", "--may-exist", "ls-add", args.switch, "--", "--may-exist", "lsp-add", args.switch,
         args.name, "--", "lsp-set-addresses", args.name, " ".join([mac, *(str(i.ip) for i in interfaces)])],
        timeout=60,
    )
    if create.returncode != 0:
        raise LabError(f"cannot create logical switch port {args.name}: {create.stderr.strip()}")
    vms.vm_add(machine, args.name, mac, [str(i) for i in interfaces], iface_id=args.name, gateway=args.gateway)
    bound = machine.run(
        ["ovn-nbctl", f"--timeout={int(args.timeout)}", "wait-until", "Logical_Switch_Port", args.name, "up=true"],
        timeout=args.timeout + 10,
    )
    if bound.returncode != 0:
        raise LabError(f"port {args.name} did not come up on {machine.name}: {bound.stderr.strip()}")
    print(f"VM {args.name} ({mac} {' '.join(args.ip)}) on {machine.name}, switch {args.switch}")
    return 0


def cmd_vm_exec(args: argparse.Namespace) -> int:
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    result = vms.vm_exec(args.name, argv, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def cmd_add_secret(args: argparse.Namespace) -> int:
    content = {}
    for item in args.content:
        key, sep, value = item.partition("=")
        if not sep:
            raise LabError(f"expected key=value, got {item!r}")
        if value.startswith("@"):  # juju add-secret's key#file=PATH, spelled key=@PATH here
            value = Path(value[1:]).read_text()
        content[key] = value
    with open_model(args.model) as model:
        print(model.add_user_secret(args.name, content))
    return 0


def cmd_grant_secret(args: argparse.Namespace) -> int:
    with open_model(args.model) as model:
        model.grant_user_secret(args.name, args.app)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    """Remove the model's VMs and machines, returning once their processes are gone; the
    underlay goes with the last machine of any model."""
    with open_model(args.model, create=True) as model:  # a deploy cut short may have left machines
        hosts = {machine["host"] for machine in model.data["machines"].values()}
        for vm in vms.list_vms():
            if vms.vm_machine(vm) in hosts:
                vms.vm_delete(vm)
        model.destroy()
    machines.release_underlay()
    print(f"destroyed model {args.model!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    parser.add_argument("-m", "--model", default="ovn", help="lab model name (default: ovn)")
    sub = parser.add_subparsers(dest="command_name", required=True)

    p = sub.add_parser("deploy", help="deploy a bundle onto new lab machines")
    p.add_argument("bundle")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="model config for the new model, as `juju add-model --config`")
    p.add_argument("--overlay", action="append", default=[], metavar="FILE",
                   help="merge an overlay bundle, as `juju deploy --overlay` (repeatable, applied in order)")
    p.add_argument("--underlay", choices=network.UNDERLAYS, default="ipv4",
                   help="address families of the machines' networks, as the cloud's subnets have them")
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser("model-config", help="show or set model config (update-status-hook-interval, leader-lease-timeout)")
    p.add_argument("values", nargs="*")
    p.set_defaults(func=cmd_model_config)
    sub.add_parser("status", help="applications, units, machines").set_defaults(func=cmd_status)
    p = sub.add_parser("wait", help="run hooks until every unit is active and idle")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--with", dest="with_models", action="append", default=[], metavar="MODEL",
                   help="settle this related model too (cross-model relations)")
    p.add_argument("--idle", action="store_true", help="only wait until no hook is queued, whatever the status")
    p.set_defaults(func=cmd_wait)
    p = sub.add_parser("config", help="show or set application config")
    p.add_argument("app")
    p.add_argument("values", nargs="*")
    p.set_defaults(func=cmd_config)
    p = sub.add_parser("run", help="run an action; results as YAML, exit 1 on failure")
    p.add_argument("unit")
    p.add_argument("action")
    p.add_argument("params", nargs="*")
    p.add_argument("--timeout", type=float, default=600)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("exec", help="run a command on a machine (a machine id, or a unit: its machine)")
    p.add_argument("target", help="machine id or unit")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.add_argument("--timeout", type=float, default=300)
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("add-unit")
    p.add_argument("app")
    p.add_argument("--to", default=None, help="machine id (a new machine when absent)")
    p.add_argument("-n", "--num-units", type=int, default=1)
    p.set_defaults(func=cmd_add_unit)
    p = sub.add_parser("add-machine", help="plain machines, as `juju add-machine`; prints their ids")
    p.add_argument("-n", dest="num_machines", type=int, default=1)
    p.set_defaults(func=cmd_add_machine)
    for name, func, what in (
        ("integrate", cmd_integrate, "relate two applications, as `juju integrate` (APP or APP:ENDPOINT)"),
        ("remove-relation", cmd_remove_relation, "remove a relation, as `juju remove-relation`"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("a")
        p.add_argument("b")
        p.set_defaults(func=func)
    p = sub.add_parser("link", help="a point-to-point link (veth pair) between two machines: link 0:swp1 1:swp1")
    p.add_argument("a", metavar="MACHINE:IF")
    p.add_argument("b", metavar="MACHINE:IF")
    p.set_defaults(func=cmd_link)
    p = sub.add_parser("remove-unit")
    p.add_argument("units", nargs="+")
    p.add_argument("--force", action="store_true", help="forget units whose machine is dead, running none of their hooks")
    p.set_defaults(func=cmd_remove_unit)
    p = sub.add_parser("rerun-hook", help="queue a hook of a settled unit again (idempotence tests; not a Juju command)")
    p.add_argument("unit")
    p.add_argument("hook", help="e.g. config-changed, relation-changed:ovsdb")
    p.set_defaults(func=cmd_rerun_hook)
    p = sub.add_parser("inject-fault", help="the unit's next hook raises half-way (not a Juju command: failure tests)")
    p.add_argument("unit")
    p.add_argument("target", metavar="MODULE:FUNCTION", help="e.g. charmed_ovn.services:write_drop_in")
    p.add_argument("--after", type=int, default=0, help="calls that happen before it raises (default 0)")
    p.set_defaults(func=cmd_inject_fault)
    p = sub.add_parser("offer", help="offer an endpoint to other models (juju offer app:endpoint)")
    p.add_argument("endpoint", help="app:endpoint")
    p.set_defaults(func=cmd_offer)
    p = sub.add_parser("show-status-log", help="a unit's workload status history (juju show-status-log)")
    p.add_argument("unit")
    p.add_argument("--format", choices=["tabular", "json"], default="tabular")
    p.set_defaults(func=cmd_show_status_log)
    p = sub.add_parser("advance-clock", help="move the clock hooks see forward (libfaketime); update-status runs")
    p.add_argument("days", type=float)
    p.set_defaults(func=cmd_advance_clock)
    p = sub.add_parser("kill-machine", help="cut a machine's power")
    p.add_argument("machine")
    p.set_defaults(func=cmd_kill_machine)
    p = sub.add_parser("cut-network", help="pull a machine's cable on a lab network (a partition); --heal plugs it back")
    p.add_argument("machine")
    p.add_argument("--network", default="lab0", help="lab0 (space alpha, the default) or lab1 (underlay)")
    p.add_argument("--heal", action="store_true")
    p.set_defaults(func=cmd_cut_network)
    p = sub.add_parser("restart-machine", help="reboot a machine")
    p.add_argument("machine")
    p.set_defaults(func=cmd_restart_machine)
    p = sub.add_parser("vm-add", help="a VM namespace on a chassis, bound to a logical switch port")
    p.add_argument("name")
    p.add_argument("--chassis", required=True, help="chassis unit, e.g. ovn-chassis/0")
    p.add_argument("--switch", required=True, help="logical switch (created if needed)")
    p.add_argument("--ip", required=True, action="append",
                   help="address/prefix, e.g. 172.16.0.1/24 (repeat for an IPv6 one too: fd16::1/64)")
    p.add_argument("--gateway", help="default route via this address (a logical router port's)")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_vm_add)
    p = sub.add_parser("vm-exec", help="run a command in a VM namespace")
    p.add_argument("name")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.add_argument("--timeout", type=float, default=300)
    p.set_defaults(func=cmd_vm_exec)
    p = sub.add_parser("add-secret", help="a user secret, like juju add-secret (value @FILE reads a file)")
    p.add_argument("name")
    p.add_argument("content", nargs="+")
    p.set_defaults(func=cmd_add_secret)
    p = sub.add_parser("grant-secret", help="let an application read a user secret")
    p.add_argument("name")
    p.add_argument("app")
    p.set_defaults(func=cmd_grant_secret)
    sub.add_parser("destroy", help="remove the model's machines, VMs and state").set_defaults(func=cmd_destroy)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (LabError, machines.MachineError, subprocess.TimeoutExpired) as e:
        print(f"ERROR {e}", file=sys.stderr)
        return 1
