# The default bundle (bundles/bundle.yaml) as a Terraform module: three machines, each running
# an ovn-central unit (NB and SB raft members, ovn-northd) and an ovn-chassis unit, related over
# `ovsdb` and `certificates`. The ovn-central leader is the CA and signs the chassis'
# certificates. tests/unit/test_terraform.py checks that this declares what bundle.yaml does, and
# with gateway_count = 2 what bundle.yaml with overlays/ha-gateways.yaml does.

resource "juju_machine" "ovn" {
  count       = var.machine_count
  model_uuid  = var.model_uuid
  name        = "ovn-${count.index}"
  base        = var.base
  constraints = var.machine_constraints
  # The connection strings below name the machines by hostname (the certificates carry it).
  wait_for_hostname = true
}

module "ovn_central" {
  source     = "../../charms/ovn-central/terraform"
  model_uuid = var.model_uuid
  channel    = var.channel
  base       = var.base
  machines   = toset(juju_machine.ovn[*].machine_id)
  config     = var.ovn_central_config
}

module "ovn_chassis" {
  source     = "../../charms/ovn-chassis/terraform"
  model_uuid = var.model_uuid
  channel    = var.channel
  base       = var.base
  machines   = toset(juju_machine.ovn[*].machine_id)
  config     = var.ovn_chassis_config
}

resource "juju_integration" "chassis_ovsdb" {
  model_uuid = var.model_uuid

  application {
    name     = module.ovn_chassis.app_name
    endpoint = module.ovn_chassis.requires.ovsdb
  }

  application {
    name     = module.ovn_central.app_name
    endpoint = module.ovn_central.provides.ovsdb
  }
}

resource "juju_integration" "chassis_certificates" {
  model_uuid = var.model_uuid

  application {
    name     = module.ovn_chassis.app_name
    endpoint = module.ovn_chassis.requires.certificates
  }

  application {
    name     = module.ovn_central.app_name
    endpoint = module.ovn_central.provides.certificates
  }
}

# Dedicated gateway chassis (overlays/ha-gateways.yaml): ovn-chassis again, as `ovn-gateway`, on
# machines of their own, eligible for gateway router ports.
resource "juju_machine" "gateway" {
  count             = var.gateway_count
  model_uuid        = var.model_uuid
  name              = "ovn-gateway-${count.index}"
  base              = var.base
  constraints       = var.machine_constraints
  wait_for_hostname = true
}

module "ovn_gateway" {
  source     = "../../charms/ovn-chassis/terraform"
  count      = var.gateway_count > 0 ? 1 : 0
  app_name   = "ovn-gateway"
  model_uuid = var.model_uuid
  channel    = var.channel
  base       = var.base
  machines   = toset(juju_machine.gateway[*].machine_id)
  config     = var.gateway_config
}

resource "juju_integration" "gateway_ovsdb" {
  count      = var.gateway_count > 0 ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.ovn_gateway[0].app_name
    endpoint = module.ovn_gateway[0].requires.ovsdb
  }

  application {
    name     = module.ovn_central.app_name
    endpoint = module.ovn_central.provides.ovsdb
  }
}

resource "juju_integration" "gateway_certificates" {
  count      = var.gateway_count > 0 ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.ovn_gateway[0].app_name
    endpoint = module.ovn_gateway[0].requires.certificates
  }

  application {
    name     = module.ovn_central.app_name
    endpoint = module.ovn_central.provides.certificates
  }
}
