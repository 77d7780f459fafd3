"""Security events, logged as MicroOVN's securitylog does: one INFO line per event, with the OWASP
Application Logging Vocabulary's names and MicroOVN's fields.

Lines look like `security=true category=AUTHZ event=authz_admin action=cluster_join node=ovn-central/1
msg="..."`, so that an operator can grep the unit's log (juju debug-log) for every certificate, CA,
membership, service and configuration change. No secret material and no configuration value is
ever passed here: configuration changes name the key only, as MicroOVN does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import ops

from charmed_ovn.files import write_file

logger = logging.getLogger("charmed_ovn.security")

AUTHN = "AUTHN"
AUTHZ = "AUTHZ"
SYS = "SYS"

# OWASP's names, as MicroOVN maps them: mTLS only, so a (re)issued certificate is a changed credential
CREDENTIAL_CHANGED = "authn_password_changed"
ADMIN = "authz_admin"
STARTUP = "sys_startup"
SHUTDOWN = "sys_shutdown"


def configure(enabled: bool) -> None:
    """Turn the security log on or off for this hook (the `security-log` option; MicroOVN's
    `security-logging`)."""
    logger.disabled = not enabled


def _field(key: str, value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text and not any(c in text for c in ' "='):
        return f"{key}={text}"
    return f"{key}={json.dumps(text)}"  # quoted, as logfmt does


def format_event(category: str, event: str, msg: str = "", **fields: object) -> str:
    """One security log line: the fixed fields, the context fields sorted, then the message."""
    parts = [f"security=true category={category} event={event}"]
    parts += [_field(key, value) for key, value in sorted(fields.items())]
    if msg:
        parts.append(_field("msg", msg))
    return " ".join(parts)


def _log(category: str, event: str, msg: str, **fields: object) -> None:
    logger.info(format_event(category, event, msg, **fields))


def credential_changed(action: str, subject: str, msg: str, **fields: object) -> None:
    """A CA or a service certificate was (re)issued (OWASP `authn_password_changed`)."""
    _log(AUTHN, CREDENTIAL_CHANGED, msg, action=action, subject=subject, **fields)


def admin(action: str, node: str, msg: str, **fields: object) -> None:
    """An administrative change (OWASP `authz_admin`): membership, services, configuration, CA
    requests, actions run."""
    _log(AUTHZ, ADMIN, msg, action=action, node=node, **fields)


def startup(node: str) -> None:
    """The unit's agent started it (Juju's `start` hook runs at deployment and after every reboot,
    as MicroOVN's OnStart does)."""
    _log(SYS, STARTUP, f"unit {node} starting", node=node)


def shutdown(node: str, msg: str) -> None:
    """The unit is leaving: it stops its OVN services (a pause is `disable_service`)."""
    _log(SYS, SHUTDOWN, msg, node=node)


# --- the events every hook may carry ------------------------------------------------------------


def config_changes(seen: Mapping[str, str], current: Mapping[str, str], defaults: Mapping[str, str]) -> list[tuple[str, str]]:
    """(`config_set` or `config_delete`, key) for each option whose value digest differs from what
    the unit saw last; a key back at its default is a delete (`juju config --reset`). Before any
    record, what was seen is the defaults: options given at deployment are logged once."""
    before = {**defaults, **seen}
    changes = []
    for key in sorted(current):
        if current[key] == before.get(key):
            continue
        changes.append(("config_delete" if current[key] == defaults.get(key) else "config_set", key))
    return changes


def digests(config: Mapping[str, object]) -> dict[str, str]:
    """A digest per option, so that the record of what was seen holds no configuration value."""
    return {key: hashlib.sha256(json.dumps(value).encode()).hexdigest()[:16] for key, value in config.items()}


def open_hook(charm: ops.CharmBase, record: Path) -> None:
    """What every hook does first: switch the log on or off (`security-log`), and log the unit's
    start, the action being run and the configuration keys that changed since the last hook. The
    record of what was seen is written only when something changed."""
    configure(bool(charm.config["security-log"]))
    node, dispatch_path = charm.unit.name, os.environ.get("JUJU_DISPATCH_PATH", "")
    if dispatch_path == "hooks/start":
        startup(node)
    if dispatch_path.startswith("actions/"):
        action = dispatch_path.removeprefix("actions/")
        admin("run_action", node, f"action {action} run on {node}", name=action)
    current = digests(charm.config)
    seen = json.loads(record.read_text()) if record.exists() else {}
    changes = config_changes(seen, current, digests({key: option.default for key, option in charm.meta.config.items()}))
    for action, key in changes:
        admin(action, node, f"configuration key {key} {'reset' if action == 'config_delete' else 'set'}", key=key)
    write_file(record, json.dumps(current, sort_keys=True))  # only when it differs
