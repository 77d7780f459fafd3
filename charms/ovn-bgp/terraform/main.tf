# ovn-bgp: a subordinate of ovn-chassis. It has no units of its own: Juju puts one beside each
# ovn-chassis unit once the two are integrated (ovn-bgp:chassis to ovn-chassis:juju-info).
resource "juju_application" "ovn_bgp" {
  name       = var.app_name
  model_uuid = var.model_uuid

  charm {
    name     = var.charm_name
    channel  = var.channel
    revision = var.revision
    base     = var.base
  }

  config = var.config
}
