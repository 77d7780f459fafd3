#!/usr/bin/env python3
"""root-ca: a root CA that signs every tls-certificates request, intermediate CAs included."""

from __future__ import annotations

from datetime import timedelta

import ops
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    PrivateKey,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
    generate_ca,
    generate_certificate,
    generate_private_key,
)

SECRET_LABEL = "root-ca"
CA_VALIDITY = timedelta(days=3650)
ISSUED_VALIDITY = timedelta(days=730)


class RootCACharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.provider = TLSCertificatesProvidesV4(self, "certificates")
        for event in (
            self.on.install,
            self.on.leader_elected,
            self.on.update_status,
            self.on["certificates"].relation_joined,
            self.on["certificates"].relation_changed,
        ):
            framework.observe(event, self._reconcile)

    def _reconcile(self, _: ops.EventBase) -> None:
        self.unit.status = ops.ActiveStatus()
        if not self.unit.is_leader():
            return
        ca, key = self._root()
        issued = {
            (cert.relation_id, str(cert.certificate_signing_request))
            for cert in self.provider.get_issued_certificates()
        }
        for request in self.provider.get_certificate_requests():
            csr = request.certificate_signing_request
            if (request.relation_id, str(csr)) in issued:
                continue
            certificate = generate_certificate(csr, ca, key, ISSUED_VALIDITY, is_ca=request.is_ca)
            self.provider.set_relation_certificate(
                ProviderCertificate(
                    relation_id=request.relation_id,
                    certificate=certificate,
                    certificate_signing_request=csr,
                    ca=ca,
                    chain=[certificate, ca],
                )
            )

    def _root(self) -> tuple[Certificate, PrivateKey]:
        try:
            content = self.model.get_secret(label=SECRET_LABEL).get_content(refresh=True)
        except ops.SecretNotFoundError:
            key = generate_private_key()
            ca = generate_ca(key, CA_VALIDITY, common_name="lab root CA")
            content = {"certificate": str(ca), "private-key": str(key)}
            self.app.add_secret(content, label=SECRET_LABEL)
        return Certificate.from_string(content["certificate"]), PrivateKey.from_string(content["private-key"])


if __name__ == "__main__":  # pragma: nocover
    ops.main(RootCACharm)
