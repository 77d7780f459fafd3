output "ovn_central" {
  description = "The ovn-central application: its name and endpoints, to integrate a CMS (ovsdb-cms) or an external CA (ca)."
  value = {
    app_name = module.ovn_central.app_name
    provides = module.ovn_central.provides
    requires = module.ovn_central.requires
  }
}

output "ovn_chassis" {
  description = "The ovn-chassis application: its name and endpoints."
  value = {
    app_name = module.ovn_chassis.app_name
    provides = module.ovn_chassis.provides
    requires = module.ovn_chassis.requires
  }
}

# What MicroOVN prints as its connection strings: every central member, TLS only. The members are
# named by hostname, which their certificates carry; where the hostnames do not resolve, take the
# addresses from `juju status ovn-central` (or relate a CMS to ovsdb-cms, which is given them).
output "nb_connection_string" {
  description = "The Northbound database for OVN clients (ovn-nbctl --db=...): ssl:<member>:6641, comma-separated."
  value       = join(",", [for machine in juju_machine.ovn : "ssl:${machine.hostname}:6641"])
}

output "sb_connection_string" {
  description = "The Southbound database for OVN clients (ovn-sbctl --db=...): ssl:<member>:6642, comma-separated."
  value       = join(",", [for machine in juju_machine.ovn : "ssl:${machine.hostname}:6642"])
}

# Terraform cannot run Juju actions, and the CA exists only once the leader made it: this is the
# command that prints it (results: ca-certificate, and ca-bundle for clients outside the model).
output "ca_certificate_command" {
  description = "The command that prints the OVN CA certificate clients must trust."
  value       = "juju run -m ${var.model_uuid} ${module.ovn_central.app_name}/leader get-ca-certificate"
}
