output "app_name" {
  description = "Name of the deployed application."
  value       = juju_application.ovn_bgp.name
}

# Endpoint names, for juju_integration blocks of the modules that compose this one.
output "provides" {
  value = {
    cos-agent = "cos-agent"
  }
}

output "requires" {
  value = {
    chassis      = "chassis"
    ovsdb        = "ovsdb"
    certificates = "certificates"
  }
}
