#!/usr/bin/python3
"""Juju's hook tools, as the lab's unit agent offers them to a charm's `dispatch`.

One program installed under every tool name (relation-get, secret-add, status-set, ...): it
acts as the tool it is called as. The unit's view of the model for the running hook lives in
one JSON context file, written by the lab's controller before the hook (LAB_HOOK_CONTEXT names
it); the tools read it and record their changes in it, and the controller reads it back after
the hook (tests/lab/model.py). Argument syntax, output (`--format=json`) and errors follow Juju
3.6's tools as ops 3.9 calls them: a refused call prints `ERROR <reason>` and exits 1 (2 for bad
usage), with Juju's wording where ops or charms look at it (`cannot write relation settings`,
`this unit is not the leader`, `secret "..." not found`, `permission denied`).

Standard library only: it runs with the machine's /usr/bin/python3, next to nothing else.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import fcntl
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

CONTEXT_ENV = "LAB_HOOK_CONTEXT"
SETTABLE_STATUSES = ("active", "blocked", "maintenance", "waiting")


class ToolError(Exception):
    """The tool refuses the call: `ERROR <message>` on stderr, exit `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with Juju's way of reporting bad usage."""

    def error(self, message: str) -> NoReturn:
        raise ToolError(message, code=2)


def parse_bool(text: str) -> bool:
    """A Go flag boolean (`--application=True` is what ops passes)."""
    lowered = text.lower()
    if lowered not in ("1", "t", "true", "0", "f", "false"):
        raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")
    return lowered in ("1", "t", "true")


def parser(tool: str, *, output: bool = False) -> Parser:
    p = Parser(prog=tool, add_help=False, allow_abbrev=False)
    if output:
        p.add_argument("--format", default="smart", choices=("json", "yaml", "smart"))
        p.add_argument("-o", "--output")
    return p


def render(value: Any, fmt: str) -> str:
    """JSON for --format=json; otherwise scalars as plain text (Juju's `smart` format)."""
    if fmt == "json":
        return json.dumps(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, indent=2)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the context file -------------------------------------------------------------------


@contextmanager
def hook_context(write: bool) -> Iterator[dict[str, Any]]:
    """The running hook's context, locked; saved afterwards when `write` (and no error)."""
    path = os.environ.get(CONTEXT_ENV)
    if not path:
        raise ToolError("not running in a hook context (no LAB_HOOK_CONTEXT)")
    with open(path, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        context = json.load(handle)
        yield context
        if write:
            handle.seek(0)
            handle.truncate()
            json.dump(context, handle)


def hook_relation(context: dict[str, Any]) -> dict[str, Any] | None:
    relation_id = context["event"].get("relation_id")
    return relation_by_id(context, int(relation_id)) if relation_id is not None else None


def relation_by_id(context: dict[str, Any], relation_id: int) -> dict[str, Any] | None:
    return next((r for r in context["state"]["relations"] if r["id"] == relation_id), None)


def relation_arg(context: dict[str, Any], ref: str | None) -> dict[str, Any]:
    """The relation `-r ref` names (`endpoint:id` or `id`), or the hook's own relation."""
    if ref is None:
        relation = hook_relation(context)
        if relation is None:
            raise ToolError("no relation id specified", code=2)
        return relation
    endpoint, _, number = ref.rpartition(":")
    relation = relation_by_id(context, int(number)) if number.isdigit() else None
    if relation is None or (endpoint and endpoint != relation["endpoint"]):
        raise ToolError(f'invalid value "{ref}" for option -r: relation not found', code=2)
    return relation


def is_leader(context: dict[str, Any]) -> bool:
    return bool(context["state"]["leader"])


# --- relations --------------------------------------------------------------------------


def relation_ids(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("relation-ids", output=True)
    p.add_argument("endpoint", nargs="?")
    args = p.parse_args(argv)
    endpoint = args.endpoint or (hook_relation(context) or {}).get("endpoint")
    if endpoint is None:
        raise ToolError("no endpoint name specified", code=2)
    ids = [f"{r['endpoint']}:{r['id']}" for r in context["state"]["relations"] if r["endpoint"] == endpoint]
    return render(ids, args.format)


def relation_list(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("relation-list", output=True)
    p.add_argument("-r", "--relation")
    p.add_argument("--app", action="store_true")
    args = p.parse_args(argv)
    relation = relation_arg(context, args.relation)
    if args.app:
        return render(relation["remote_app_name"], args.format)
    return render(sorted(relation["remote_units_data"], key=unit_order), args.format)


def unit_order(unit: str) -> tuple[str, int]:
    app, _, number = unit.partition("/")
    return app, int(number)


def relation_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("relation-get", output=True)
    p.add_argument("-r", "--relation")
    p.add_argument("--app", action="store_true")
    p.add_argument("key", nargs="?", default="-")
    p.add_argument("member", nargs="?")
    args = p.parse_args(argv)
    relation = relation_arg(context, args.relation)
    member = args.member or (relation["remote_app_name"] if args.app else context["event"].get("remote_unit"))
    if not member:
        raise ToolError("no unit or application specified", code=2)
    data = databag(context, relation, member, args.app)
    if args.key == "-":
        return render(data, args.format)
    return render(data.get(args.key), args.format)


def databag(context: dict[str, Any], relation: dict[str, Any], member: str, app: bool) -> dict[str, str]:
    """What `member` has in the relation, if this unit may read it."""
    if app:
        if member == context["app"]:
            if relation["kind"] != "peer" and not is_leader(context):
                raise ToolError("permission denied")
            return relation["local_app_data"]
        if member == relation["remote_app_name"]:
            return relation["remote_app_data"]
        raise ToolError(f'application "{member}" is not in relation {relation["id"]}: permission denied')
    if member == context["unit"]:
        return relation["local_unit_data"]
    if member in relation["remote_units_data"]:
        return relation["remote_units_data"][member]
    if member in relation.get("departing_unit_data", {}):
        return relation["departing_unit_data"][member]
    raise ToolError(f'cannot read settings for unit "{member}" in relation {relation["id"]}: permission denied')


def relation_set(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("relation-set")
    p.add_argument("-r", "--relation")
    p.add_argument("--app", action="store_true")
    p.add_argument("--file")
    p.add_argument("--format")  # deprecated in Juju, accepted and ignored
    p.add_argument("settings", nargs="*")
    args = p.parse_args(argv)
    relation = relation_arg(context, args.relation)
    settings: dict[str, str] = {}
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        loaded = json.loads(text) if text.strip() else {}
        if not isinstance(loaded, dict):
            raise ToolError(f"expected a map of settings, got {text[:80]!r}")
        settings.update({str(k): "" if v is None else str(v) for k, v in loaded.items()})
    for assignment in args.settings:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise ToolError(f'expected "key=value", got "{assignment}"', code=2)
        settings[key] = value
    if args.app and not is_leader(context):
        raise ToolError("cannot write relation settings")
    bag = relation["local_app_data"] if args.app else relation["local_unit_data"]
    for key, value in settings.items():
        if value:
            bag[key] = value
        else:
            bag.pop(key, None)  # an empty value deletes the key, as in Juju
    return ""


def relation_model_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("relation-model-get", output=True)
    p.add_argument("-r", "--relation")
    args = p.parse_args(argv)
    relation = relation_arg(context, args.relation)
    return render({"uuid": relation.get("remote_model_uuid") or context["model_uuid"]}, args.format)


# --- unit, application, config, network -------------------------------------------------


def config_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("config-get", output=True)
    p.add_argument("--all", "-a", action="store_true")
    p.add_argument("key", nargs="?")
    args = p.parse_args(argv)
    config = context["state"]["config"]
    return render(config.get(args.key) if args.key else config, args.format)


def is_leader_tool(context: dict[str, Any], argv: list[str]) -> str:
    args = parser("is-leader", output=True).parse_args(argv)
    return render(is_leader(context), args.format)


def status_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("status-get", output=True)
    p.add_argument("--include-data", action="store_true")
    p.add_argument("--application", type=parse_bool, nargs="?", const=True, default=False)
    args = p.parse_args(argv)
    state = context["state"]

    def shown(status: dict[str, str]) -> dict[str, Any]:
        return {"message": status["message"], "status": status["name"], "status-data": {}}

    if not args.application:
        return render(shown(state["unit_status"]), args.format)
    if not is_leader(context):
        raise ToolError("finding application status: this unit is not the leader")
    units = {unit: shown(status) for unit, status in state["unit_statuses"].items()}
    units[context["unit"]] = shown(state["unit_status"])
    return render({"application-status": shown(state["app_status"]), "units": units}, args.format)


def status_set(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("status-set")
    p.add_argument("--application", type=parse_bool, nargs="?", const=True, default=False)
    p.add_argument("status")
    p.add_argument("message", nargs="?", default="")
    args = p.parse_args(argv)
    if args.status not in SETTABLE_STATUSES:
        raise ToolError(f'invalid status "{args.status}", expected one of {list(SETTABLE_STATUSES)}', code=2)
    if args.application and not is_leader(context):
        raise ToolError("this unit is not the leader")
    key = "app_status" if args.application else "unit_status"
    context["state"][key] = {"name": args.status, "message": args.message}
    return ""


def application_version_set(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("application-version-set")
    p.add_argument("version")
    context["state"]["workload_version"] = p.parse_args(argv).version
    return ""


def network_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("network-get", output=True)
    p.add_argument("-r", "--relation")
    p.add_argument("--bind-address", action="store_true")
    p.add_argument("--ingress-address", action="store_true")
    p.add_argument("--egress-subnets", action="store_true")
    p.add_argument("--primary-address", action="store_true")
    p.add_argument("binding")
    args = p.parse_args(argv)
    if args.relation is not None:
        relation_arg(context, args.relation)
    network = next((n for n in context["state"]["networks"] if n["binding_name"] == args.binding), None)
    if network is None:
        raise ToolError(f'no network config found for binding "{args.binding}"')
    # Juju lists IPv4 before IPv6 (core/network: "Prefer IPv4 over IPv6 addresses").
    addresses = network["addresses"]
    info = {
        "bind-addresses": [
            {
                "mac-address": "",
                "interface-name": network["interface"],
                "addresses": [{"hostname": "", **address} for address in addresses],
                "macaddress": "",
                "interfacename": network["interface"],
            }
        ],
        "egress-subnets": network["egress_subnets"],
        "ingress-addresses": [address["value"] for address in addresses],
    }
    if args.bind_address or args.primary_address:
        return render(addresses[0]["value"], args.format)
    if args.ingress_address:
        return render(info["ingress-addresses"], args.format)
    if args.egress_subnets:
        return render(info["egress-subnets"], args.format)
    return render(info, args.format)


def goal_state(context: dict[str, Any], argv: list[str]) -> str:
    args = parser("goal-state", output=True).parse_args(argv)
    since = now_rfc3339()
    units = {unit: {"status": "active", "since": since} for unit in context["state"]["app_units"]}
    relations: dict[str, dict[str, Any]] = {}
    for relation in context["state"]["relations"]:
        members = relations.setdefault(relation["endpoint"], {})
        members[relation["remote_app_name"]] = {"status": "joined", "since": since}
        for unit in relation["remote_units_data"]:
            members[unit] = {"status": "active", "since": since}
    return render({"units": units, "relations": relations}, args.format)


def unit_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("unit-get", output=True)
    p.add_argument("setting", choices=("private-address", "public-address"))
    args = p.parse_args(argv)
    networks = context["state"]["networks"]
    return render(networks[0]["addresses"][0]["value"] if networks else "", args.format)


# --- ports ------------------------------------------------------------------------------


def port_spec(text: str) -> dict[str, Any]:
    """`80`, `80/tcp`, `8000-8080/udp` or `icmp` as {protocol, port, to_port}."""
    if text == "icmp":
        return {"protocol": "icmp", "port": None, "to_port": None}
    match = re.fullmatch(r"(\d+)(?:-(\d+))?(?:/(tcp|udp))?", text)
    if match is None:
        raise ToolError(f'invalid port or range "{text}"', code=2)
    low, high, protocol = match.groups()
    return {"protocol": protocol or "tcp", "port": int(low), "to_port": int(high) if high else None}


def port_text(port: dict[str, Any]) -> str:
    if port["protocol"] == "icmp":
        return "icmp"
    span = f"{port['port']}-{port['to_port']}" if port.get("to_port") else str(port["port"])
    return f"{span}/{port['protocol']}"


def change_port(context: dict[str, Any], argv: list[str], tool: str) -> str:
    p = parser(tool)
    p.add_argument("--endpoints")
    p.add_argument("port")
    spec = port_spec(p.parse_args(argv).port)
    ports = [port for port in context["state"]["opened_ports"] if port_spec(port_text(port)) != spec]
    if tool == "open-port":
        ports.append(spec)
    context["state"]["opened_ports"] = ports
    return ""


def opened_ports(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("opened-ports", output=True)
    p.add_argument("--endpoints", action="store_true")
    args = p.parse_args(argv)
    texts = [port_text(port) for port in context["state"]["opened_ports"]]
    return render([f"{text} (*)" if args.endpoints else text for text in texts], args.format)


# --- actions ----------------------------------------------------------------------------


def running_action(context: dict[str, Any]) -> dict[str, Any]:
    action = context.get("action")
    if action is None:
        raise ToolError("not running an action")
    return action


def action_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("action-get", output=True)
    p.add_argument("key", nargs="?")
    args = p.parse_args(argv)
    value: Any = running_action(context)["params"]
    for part in args.key.split(".") if args.key else []:
        value = value.get(part) if isinstance(value, dict) else None
    return render(value, args.format)


def action_set(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("action-set")
    p.add_argument("results", nargs="+")
    args = p.parse_args(argv)
    results = running_action(context)["results"]
    for assignment in args.results:
        key, sep, value = assignment.partition("=")
        if not sep or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*", key):
            raise ToolError(f'key "{key}" must start and end with lowercase alphanumeric, '
                            "and contain only lowercase alphanumeric, hyphens and periods", code=2)
        *parents, leaf = key.split(".")
        target = results
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return ""


def action_fail(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("action-fail")
    p.add_argument("message", nargs="?", default="action failed without reason given, check action for errors")
    running_action(context)["failed"] = p.parse_args(argv).message
    return ""


def action_log(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("action-log")
    p.add_argument("message", nargs="+")
    running_action(context)["logs"].append(" ".join(p.parse_args(argv).message))
    return ""


# --- secrets ----------------------------------------------------------------------------


def short_id(secret_id: str) -> str:
    """The bare id of `secret:ID`, `secret://MODEL/ID` or `ID`."""
    return secret_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def owned_by_me(context: dict[str, Any], secret: dict[str, Any]) -> bool:
    """Whether this unit may manage the secret: its own, or its application's when leader."""
    return secret["owner"] == "unit" or (secret["owner"] == "app" and is_leader(context))


def secret_by_id(context: dict[str, Any], secret_id: str) -> dict[str, Any]:
    wanted = short_id(secret_id)
    for secret in context["state"]["secrets"]:
        if short_id(secret["id"]) == wanted:
            return secret
    if wanted in (short_id(known) for known in context["state"]["model_secret_ids"]):
        raise ToolError("permission denied")
    raise ToolError(f'secret "{secret_id}" not found')


def secret_by_label(context: dict[str, Any], label: str) -> dict[str, Any]:
    """Juju resolves a label to the unit's own secrets, its application's when it is the
    leader, then to the labels it gave secrets it consumes."""
    secrets = context["state"]["secrets"]
    owned = [s for s in secrets if s["owner"] and owned_by_me(context, s) and s["label"] == label]
    consumed = [s for s in secrets if not s["owner"] and s["label"] == label]
    for secret in owned + consumed:
        return secret
    raise ToolError(f'secret with label "{label}" not found')


def managed_secret(context: dict[str, Any], secret_id: str) -> dict[str, Any]:
    secret = secret_by_id(context, secret_id)
    if not secret["owner"] or not owned_by_me(context, secret):
        raise ToolError("permission denied")
    return secret


def content_args(values: list[str]) -> dict[str, str]:
    """`key=value`, `key#file=PATH` and `key#base64=...` arguments as secret content."""
    content = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise ToolError(f'expected "key=value", got "{item}"', code=2)
        if key.endswith("#file"):
            key, value = key[: -len("#file")], Path(value).read_text()
        elif key.endswith("#base64"):
            key, value = key[: -len("#base64")], base64.b64decode(value).decode()
        if not re.fullmatch(r"[a-z](?:-?[a-z0-9]){2,}", key):
            raise ToolError(f'invalid secret key "{key}"', code=2)
        content[key] = value
    return content


def secret_metadata_parser(tool: str) -> Parser:
    p = parser(tool)
    p.add_argument("--label")
    p.add_argument("--description")
    p.add_argument("--expire")
    p.add_argument("--rotate", choices=("never", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly"))
    p.add_argument("--owner", choices=("application", "unit"), default="application")
    return p


def expiry(text: str | None) -> str | None:
    """--expire as an RFC 3339 time: Juju takes a time or a duration such as `24h`."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if match is None:
        return text
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.isoformat(timespec="seconds")


def label_taken(context: dict[str, Any], label: str | None, owner: str, exclude: str | None = None) -> bool:
    return label is not None and any(
        s["owner"] == owner and s["label"] == label and s["id"] != exclude for s in context["state"]["secrets"]
    )


def secret_add(context: dict[str, Any], argv: list[str]) -> str:
    p = secret_metadata_parser("secret-add")
    p.add_argument("content", nargs="+")
    args = p.parse_args(argv)
    content = content_args(args.content)
    owner = "app" if args.owner == "application" else "unit"
    if owner == "app" and not is_leader(context):
        raise ToolError("this unit is not the leader")
    if label_taken(context, args.label, owner):
        raise ToolError(f'secret with label "{args.label}" already exists')
    secret_id = f"secret:{uuid.uuid4().hex[:20]}"
    context["state"]["secrets"].append(
        {
            "id": secret_id,
            "owner": owner,
            "tracked_content": content,
            "latest_content": content,
            "tracked_revision": 1,
            "latest_revision": 1,
            "label": args.label,
            "description": args.description,
            "expire": expiry(args.expire),
            "rotate": args.rotate,
            "remote_grants": {},
        }
    )
    return secret_id


def secret_set(context: dict[str, Any], argv: list[str]) -> str:
    p = secret_metadata_parser("secret-set")
    p.add_argument("id")
    p.add_argument("content", nargs="*")
    args = p.parse_args(argv)
    secret = managed_secret(context, args.id)
    content = content_args(args.content)
    if content and content != secret["latest_content"]:  # the same content makes no new revision
        secret["latest_revision"] += 1
        secret.update(latest_content=content, tracked_content=content, tracked_revision=secret["latest_revision"])
    if args.label is not None:
        if label_taken(context, args.label, secret["owner"], exclude=secret["id"]):
            raise ToolError(f'secret with label "{args.label}" already exists')
        secret["label"] = args.label
    for key in ("description", "rotate"):
        if getattr(args, key) is not None:
            secret[key] = getattr(args, key)
    if args.expire is not None:
        secret["expire"] = expiry(args.expire)
    return ""


def secret_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("secret-get", output=True)
    p.add_argument("id", nargs="?")
    p.add_argument("key", nargs="?")
    p.add_argument("--label")
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--peek", action="store_true")
    args = p.parse_args(argv)
    if args.refresh and args.peek:
        raise ToolError("specify one of --peek or --refresh but not both", code=2)
    if args.id:
        secret = secret_by_id(context, args.id)
        if args.label is not None:
            secret["label"] = args.label  # the owner's label, or this consumer's own label for it
    elif args.label:
        secret = secret_by_label(context, args.label)
    else:
        raise ToolError("require either a secret URI or label", code=2)
    if secret["owner"]:
        content = secret["latest_content"]  # owners always read the latest revision
    elif args.refresh or args.peek:
        content = secret["latest_content"]
        if args.refresh:
            secret.update(tracked_content=content, tracked_revision=secret["latest_revision"])
    else:
        content = secret["tracked_content"]
    return render(content.get(args.key) if args.key else content, args.format)


def secret_info_get(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("secret-info-get", output=True)
    p.add_argument("id", nargs="?")
    p.add_argument("--label")
    args = p.parse_args(argv)
    if bool(args.id) == bool(args.label):
        raise ToolError("specify either a secret URI or label but not both", code=2)
    secret = secret_by_id(context, args.id) if args.id else secret_by_label(context, args.label)
    if not secret["owner"] or not owned_by_me(context, secret):
        raise ToolError(f'secret "{args.id or args.label}" not found')
    info: dict[str, Any] = {
        "revision": secret["latest_revision"],
        "label": secret["label"] or "",
        "owner": "application" if secret["owner"] == "app" else "unit",
        "rotation": secret["rotate"] or "never",
    }
    if secret["description"]:
        info["description"] = secret["description"]
    if secret["expire"]:
        info["expiry"] = secret["expire"]
    return render({short_id(secret["id"]): info}, args.format)


def secret_ids(context: dict[str, Any], argv: list[str]) -> str:
    args = parser("secret-ids", output=True).parse_args(argv)
    owned = [s["id"] for s in context["state"]["secrets"] if s["owner"] and owned_by_me(context, s)]
    return render(owned, args.format)


def grant_target(context: dict[str, Any], relation_ref: str, unit: str | None, app: str | None) -> tuple[str, str]:
    relation = relation_arg(context, relation_ref)
    if unit is not None and unit not in relation["remote_units_data"]:
        raise ToolError(f'cannot grant or revoke for unit "{unit}": not in relation {relation["id"]}')
    return str(relation["id"]), unit or app or relation["remote_app_name"]


def secret_grant(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("secret-grant")
    p.add_argument("-r", "--relation", required=True)
    p.add_argument("--unit")
    p.add_argument("id")
    args = p.parse_args(argv)
    secret = managed_secret(context, args.id)
    relation_id, grantee = grant_target(context, args.relation, args.unit, None)
    grantees = secret["remote_grants"].setdefault(relation_id, [])
    if grantee not in grantees:
        grantees.append(grantee)
    return ""


def secret_revoke(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("secret-revoke")
    p.add_argument("-r", "--relation")
    p.add_argument("--app")
    p.add_argument("--unit")
    p.add_argument("id")
    args = p.parse_args(argv)
    secret = managed_secret(context, args.id)
    if args.relation is None:
        removed = args.unit or args.app
        secret["remote_grants"] = {
            rid: [g for g in grantees if g != removed] for rid, grantees in secret["remote_grants"].items()
        }
        return ""
    relation_id, grantee = grant_target(context, args.relation, args.unit, args.app)
    grantees = [g for g in secret["remote_grants"].get(relation_id, []) if g != grantee]
    secret["remote_grants"][relation_id] = grantees
    return ""


def secret_remove(context: dict[str, Any], argv: list[str]) -> str:
    p = parser("secret-remove")
    p.add_argument("--revision", type=int)
    p.add_argument("id")
    args = p.parse_args(argv)
    secret = managed_secret(context, args.id)
    if args.revision is None:
        context["state"]["secrets"].remove(secret)
    # Removing one revision changes nothing the lab models: it keeps every revision's content,
    # and Juju too keeps a revision as long as a consumer tracks it.
    return ""


# --- logging and unsupported tools ------------------------------------------------------


Tool = Callable[[dict[str, Any], list[str]], str]
# name -> (implementation, whether it changes the context)
TOOLS: dict[str, tuple[Tool, bool]] = {
    "relation-ids": (relation_ids, False),
    "relation-list": (relation_list, False),
    "relation-get": (relation_get, False),
    "relation-set": (relation_set, True),
    "relation-model-get": (relation_model_get, False),
    "config-get": (config_get, False),
    "is-leader": (is_leader_tool, False),
    "status-get": (status_get, False),
    "status-set": (status_set, True),
    "application-version-set": (application_version_set, True),
    "network-get": (network_get, False),
    "goal-state": (goal_state, False),
    "unit-get": (unit_get, False),
    "open-port": (lambda c, a: change_port(c, a, "open-port"), True),
    "close-port": (lambda c, a: change_port(c, a, "close-port"), True),
    "opened-ports": (opened_ports, False),
    "action-get": (action_get, False),
    "action-set": (action_set, True),
    "action-fail": (action_fail, True),
    "action-log": (action_log, True),
    "secret-add": (secret_add, True),
    "secret-set": (secret_set, True),
    "secret-get": (secret_get, True),  # --refresh and a label change what the unit tracks
    "secret-info-get": (secret_info_get, False),
    "secret-ids": (secret_ids, False),
    "secret-grant": (secret_grant, True),
    "secret-revoke": (secret_revoke, True),
    "secret-remove": (secret_remove, True),
}
# Tools Juju has that the lab does not model: they fail loudly instead of pretending.
UNSUPPORTED = (
    "credential-get", "juju-reboot", "resource-get", "storage-get", "storage-list", "storage-add",
    "state-get", "state-set", "state-delete", "leader-get", "leader-set", "add-metric", "pod-spec-set",
    "k8s-raw-set", "k8s-spec-set", "payload-register", "payload-unregister", "payload-status-set",
)
TOOL_NAMES = (*TOOLS, *UNSUPPORTED)  # juju-log is juju_log.py, alone for speed


def run_tool(name: str, argv: list[str]) -> str:
    if name in UNSUPPORTED:
        raise ToolError(f"{name} is not supported in the lab")
    tool, writes = TOOLS[name]
    with hook_context(write=writes) as context:
        return tool(context, argv)


def main() -> int:
    name = Path(sys.argv[0]).name
    if name not in TOOL_NAMES:
        print(f"ERROR unknown hook tool {name!r}", file=sys.stderr)
        return 2
    try:
        output = run_tool(name, sys.argv[1:])
    except ToolError as error:
        print(f"ERROR {error}", file=sys.stderr)
        return error.code
    if output:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
