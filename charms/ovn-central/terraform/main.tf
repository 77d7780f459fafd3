# ovn-central: the OVN Northbound and Southbound raft clusters and ovn-northd, one member per unit.
resource "juju_application" "ovn_central" {
  name       = var.app_name
  model_uuid = var.model_uuid

  charm {
    name     = var.charm_name
    channel  = var.channel
    revision = var.revision
    base     = var.base
  }

  config      = var.config
  constraints = var.constraints
  # The provider takes either a unit count or the machines to put one unit on each, never both.
  units    = var.machines == null ? var.units : null
  machines = var.machines
}
