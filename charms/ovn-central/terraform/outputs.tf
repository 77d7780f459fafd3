output "app_name" {
  description = "Name of the deployed application."
  value       = juju_application.ovn_central.name
}

# Endpoint names, for juju_integration blocks of the modules that compose this one.
output "provides" {
  value = {
    cos-agent    = "cos-agent"
    ovsdb        = "ovsdb"
    ovsdb-cms    = "ovsdb-cms"
    certificates = "certificates"
  }
}

output "requires" {
  value = {
    ca = "ca"
  }
}
