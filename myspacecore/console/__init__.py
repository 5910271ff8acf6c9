"""The operator console: the admin site (throttled sign-in, second factor), the roster pages
(operators, properties, units, leases, the CSV import and export, move-out now), the audit
log and the staff groups. Each room's own models have their pages in its admin.py, on the
scoped base of `myspacecore.tenancy.scoped_admin`.
"""
