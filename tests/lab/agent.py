"""The lab's unit agent: runs ONE hook of a unit's real charm code, on the unit's machine.

The lab (tests/lab/model.py) stands in for the Juju controller. For each hook it writes a request
file on the unit's machine and runs this script there, in the machine's own Python with ops and
ops.testing installed:

    /opt/lab/venv/bin/python agent.py REQUEST.json RESULT.json

The request holds the charm directory, the event, and the unit's view of the model (leadership,
config, relation databags, secrets, network bindings, stored state). ops.testing's Context is the
hook runner: it dispatches the event to the charm exactly as ops.main would under Juju, while the
charm's own code acts on this machine for real (apt, systemd, OVN). The result holds the unit's
view after the hook, action results, and the charm's log lines. This file is self-contained: it
only needs the standard library, ops and PyYAML.
"""

from __future__ import annotations

import base64
import datetime
import importlib
import inspect
import json
import marshal
import sys
import traceback
from pathlib import Path
from typing import Any

import ops
import yaml
from ops import testing


def _encode(value: Any) -> str:
    return base64.b64encode(marshal.dumps(value)).decode()


def _decode(text: str) -> Any:
    return marshal.loads(base64.b64decode(text))


def _status(data: dict[str, str]) -> ops.StatusBase:
    return ops.StatusBase.from_name(data["name"], data.get("message", ""))


def _load_charm(charm_dir: Path) -> tuple[type[ops.CharmBase], dict[str, Any]]:
    sys.path[:0] = [str(charm_dir / "src"), str(charm_dir / "lib")]
    module = importlib.import_module("charm")
    classes = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ops.CharmBase) and cls.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise RuntimeError(f"expected one CharmBase subclass in {module.__file__}, found {classes}")
    meta = yaml.safe_load((charm_dir / "charmcraft.yaml").read_text())
    return classes[0], meta


def _relation(data: dict[str, Any]) -> testing.RelationBase:
    common = {
        "endpoint": data["endpoint"],
        "interface": data["interface"],
        "id": data["id"],
        "local_app_data": data["local_app_data"],
        "local_unit_data": data["local_unit_data"],
    }
    if data["kind"] == "peer":
        return testing.PeerRelation(
            **common, peers_data={int(k): v for k, v in data["remote_units_data"].items()}
        )
    return testing.Relation(
        **common,
        remote_app_name=data["remote_app_name"],
        remote_app_data=data["remote_app_data"],
        remote_units_data={int(k): v for k, v in data["remote_units_data"].items()},
    )


def _secret(data: dict[str, Any]) -> testing.Secret:
    secret = testing.Secret(
        data["tracked_content"],
        latest_content=data["latest_content"],
        id=data["id"],
        owner=data["owner"],
        remote_grants={int(k): v for k, v in data["remote_grants"].items()},
        label=data["label"],
        description=data["description"],
        expire=datetime.datetime.fromisoformat(data["expire"]) if data["expire"] else None,
        rotate=ops.SecretRotate(data["rotate"]) if data["rotate"] else None,
    )
    object.__setattr__(secret, "_tracked_revision", data["tracked_revision"])
    object.__setattr__(secret, "_latest_revision", data["latest_revision"])
    return secret


def _network(data: dict[str, Any]) -> testing.Network:
    return testing.Network(
        data["binding_name"],
        bind_addresses=[
            testing.BindAddress(
                [testing.Address(data["address"], cidr=data["cidr"])],
                interface_name=data["interface"],
            )
        ],
        ingress_addresses=[data["address"]],
        egress_subnets=[data["cidr"]],
    )


def build_state(data: dict[str, Any]) -> testing.State:
    """The unit's view of the model, as ops.testing models it."""
    return testing.State(
        leader=data["leader"],
        config=data["config"],
        relations=[_relation(r) for r in data["relations"]],
        networks=[_network(n) for n in data["networks"]],
        secrets=[_secret(s) for s in data["secrets"]],
        stored_states=[
            testing.StoredState(s["name"], owner_path=s["owner_path"], content=_decode(s["content"]))
            for s in data["stored_states"]
        ],
        deferred=[
            testing.DeferredEvent(d["handle_path"], d["owner"], d["observer"], _decode(d["snapshot"]))
            for d in data["deferred"]
        ],
        opened_ports=[testing.Port(protocol=p["protocol"], port=p["port"]) for p in data["opened_ports"]],
        unit_status=_status(data["unit_status"]),
        app_status=_status(data["app_status"]),
        workload_version=data["workload_version"],
        planned_units=data["planned_units"],
        model=testing.Model(data["model_name"], uuid=data["model_uuid"], type="lxd"),
    )


def dump_state(state: testing.State) -> dict[str, Any]:
    """The parts of the unit's view that the controller keeps after a hook."""
    relations = []
    for relation in state.relations:
        relations.append(
            {
                "id": relation.id,
                "local_app_data": dict(relation.local_app_data),
                "local_unit_data": dict(relation.local_unit_data),
            }
        )
    return {
        "relations": relations,
        "secrets": [
            {
                "id": s.id,
                "owner": s.owner,
                "tracked_content": dict(s.tracked_content),
                "latest_content": dict(s.latest_content),
                "tracked_revision": s._tracked_revision,
                "latest_revision": s._latest_revision,
                "label": s.label,
                "description": s.description,
                "expire": s.expire.isoformat() if s.expire else None,
                "rotate": s.rotate.value if s.rotate else None,
                "remote_grants": {str(k): sorted(v) for k, v in s.remote_grants.items()},
            }
            for s in state.secrets
        ],
        "stored_states": [
            {"name": s.name, "owner_path": s.owner_path, "content": _encode(dict(s.content))}
            for s in state.stored_states
        ],
        "deferred": [
            {
                "handle_path": d.handle_path,
                "owner": d.owner,
                "observer": d.observer,
                "snapshot": _encode(d.snapshot_data),
            }
            for d in state.deferred
        ],
        "opened_ports": [{"protocol": p.protocol, "port": p.port} for p in state.opened_ports],
        "unit_status": {"name": state.unit_status.name, "message": state.unit_status.message},
        "app_status": {"name": state.app_status.name, "message": state.app_status.message},
        "workload_version": state.workload_version,
    }


def _departing_unit_zero_fix() -> None:
    """ops.testing tests the departing unit's id for truth, so a departing unit numbered 0 is
    reported as the remote unit instead. Juju names the departing unit whatever its number is."""
    from scenario import _runtime

    original = _runtime.Runtime._get_event_env

    def event_env(self: Any, state: Any, event: Any, charm_root: Path) -> dict[str, str]:
        env = original(self, state, event, charm_root)
        if event.name.endswith("_relation_departed") and event.relation_departed_unit_id == 0:
            env["JUJU_DEPARTING_UNIT"] = f"{env['JUJU_REMOTE_APP']}/0"
        return env

    _runtime.Runtime._get_event_env = event_env  # type: ignore[method-assign]


def build_event(ctx: testing.Context, event: dict[str, Any], state: testing.State) -> Any:
    """The ops.testing event for the request's event description."""
    kind = event["kind"]
    if kind == "action":
        return ctx.on.action(event["action"], params=event["params"])
    if kind.startswith("relation_"):
        relation = state.get_relation(event["relation_id"])
        if kind == "relation_departed":
            return ctx.on.relation_departed(
                relation, remote_unit=event.get("remote_unit_id"), departing_unit=event.get("departing_unit_id")
            )
        if kind in ("relation_joined", "relation_changed"):
            return getattr(ctx.on, kind)(relation, remote_unit=event.get("remote_unit_id"))
        return getattr(ctx.on, kind)(relation)
    if kind.startswith("secret_"):
        secret = state.get_secret(id=event["secret_id"])
        if kind in ("secret_expired", "secret_remove"):
            return getattr(ctx.on, kind)(secret, revision=event["revision"])
        return getattr(ctx.on, kind)(secret)
    return getattr(ctx.on, kind)()


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Run the request's hook; return the result document."""
    charm_type, meta = _load_charm(Path(request["charm_dir"]))
    ctx = testing.Context(
        charm_type,
        meta=meta,
        app_name=request["app"],
        unit_id=request["unit_id"],
        machine_id=request["machine_id"],
        juju_version=request["juju_version"],
    )
    state_in = build_state(request["state"])
    result: dict[str, Any] = {"ok": True}
    try:
        state_out = ctx.run(build_event(ctx, request["event"], state_in), state_in)
        result["state"] = dump_state(state_out)
    except testing.ActionFailed as failure:
        result["action_failed"] = failure.message
        result["state"] = dump_state(failure.state)
    except Exception:  # noqa: BLE001 - a hook error: Juju rolls the hook back and reports it
        result["ok"] = False
        result["error"] = traceback.format_exc()
    result["action_results"] = ctx.action_results
    result["action_logs"] = list(ctx.action_logs)
    result["logs"] = [[line.level, line.message] for line in ctx.juju_log]
    return result


def main() -> None:
    request_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    request = json.loads(request_path.read_text())
    request_path.unlink()  # it may hold secret content: Juju agents keep that in memory only
    _departing_unit_zero_fix()
    result = run(request)
    log_path = Path(request["log_file"])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    with log_path.open("a") as log:
        log.write(f"{stamp} running {request['event']['kind']} hook\n")
        for level, message in result["logs"]:
            log.write(f"{stamp} {level} {message}\n")
        if not result["ok"]:
            log.write(f"{stamp} ERROR hook failed:\n{result['error']}\n")
    result_path.touch(mode=0o600)
    result_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
