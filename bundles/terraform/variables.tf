variable "model_uuid" {
  description = "UUID of the Juju model to deploy into (juju_model.<name>.uuid, or data.juju_model)."
  type        = string
}

variable "machine_count" {
  description = "Machines, each with an ovn-central and an ovn-chassis unit (MicroOVN's default cluster: 3)."
  type        = number
  default     = 3
}

variable "machine_constraints" {
  description = "Juju constraints of the machines."
  type        = string
  default     = "arch=amd64"
}

variable "base" {
  description = "Operating system of the machines."
  type        = string
  default     = "ubuntu@24.04"
}

variable "channel" {
  description = "Charmhub channel of both charms (see charms/*/terraform/README.md)."
  type        = string
  default     = "latest/edge"
}

variable "ovn_central_config" {
  description = "ovn-central's options, as strings. The default is bundle.yaml's; a map given here replaces it."
  type        = map(string)
  default = {
    election-timer = "16"
  }
}

variable "ovn_chassis_config" {
  description = "ovn-chassis' options, as strings (e.g. encap-ip, bridge-mappings)."
  type        = map(string)
  default     = {}
}

variable "gateway_count" {
  description = "Dedicated gateway chassis (ovn-gateway), each on a machine of its own: 0 for none, 2 as overlays/ha-gateways.yaml."
  type        = number
  default     = 0
}

variable "gateway_config" {
  description = "ovn-gateway's options, as strings: overlays/ha-gateways.yaml's by default (plug the external NIC into br-provider)."
  type        = map(string)
  default = {
    gateway         = "true"
    bridge-mappings = "physnet1:br-provider"
  }
}
