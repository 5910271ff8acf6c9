"""The tenancy domain: operators, properties, units, leases, staff roles, who may see what, the audit log."""
