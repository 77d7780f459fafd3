"""Security events, logged as MicroOVN's securitylog does: one INFO line per event, with fields.

Lines look like `security=true category=AUTHN event=issue_certificate service=ovnnb unit=...`, so
that an operator can grep the unit's log (juju debug-log) for every issuance and CA change. No
secret material is ever passed here.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("charmed_ovn.security")

AUTHN = "AUTHN"
AUTHZ = "AUTHZ"
SYS = "SYS"


def configure(enabled: bool) -> None:
    """Turn the security log on or off for this hook (the `security-log` option; MicroOVN's
    `security-logging`)."""
    logger.disabled = not enabled


def format_event(category: str, event: str, **fields: str) -> str:
    """One security log line."""
    extras = " ".join(f"{key}={value}" for key, value in sorted(fields.items()))
    return f"security=true category={category} event={event}" + (f" {extras}" if extras else "")


def log_event(category: str, event: str, **fields: str) -> None:
    """Log a security event at INFO."""
    logger.info(format_event(category, event, **fields))
