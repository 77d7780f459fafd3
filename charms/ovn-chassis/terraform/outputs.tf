output "app_name" {
  description = "Name of the deployed application."
  value       = juju_application.ovn_chassis.name
}

# Endpoint names, for juju_integration blocks of the modules that compose this one. A
# subordinate (ovn-bgp) attaches to "juju-info", the endpoint Juju gives every application.
output "provides" {
  value = {
    cos-agent = "cos-agent"
  }
}

output "requires" {
  value = {
    ovsdb        = "ovsdb"
    certificates = "certificates"
  }
}
