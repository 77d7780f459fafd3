variable "model_uuid" {
  description = "UUID of the Juju model to deploy into (juju_model.<name>.uuid, or data.juju_model)."
  type        = string
}

variable "app_name" {
  description = "Name of the application in the model."
  type        = string
  default     = "ovn-bgp"
}

variable "charm_name" {
  description = "Name of the charm on Charmhub (see README.md: Charmhub's ovn-bgp is another charm)."
  type        = string
  default     = "ovn-bgp"
}

variable "channel" {
  description = "Charmhub channel to deploy from."
  type        = string
  default     = "latest/edge"
}

variable "revision" {
  description = "Charm revision; null for the channel's latest."
  type        = number
  default     = null
}

variable "base" {
  description = "Operating system of the machines, as the charm's charmcraft.yaml declares it."
  type        = string
  default     = "ubuntu@24.04"
}

variable "config" {
  description = "Application config: the options of the charm's charmcraft.yaml (docs/reference), as strings."
  type        = map(string)
  default     = {}
}
