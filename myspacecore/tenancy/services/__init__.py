"""The tenancy room's state changes: the roster import, and the audit rows every console write leaves."""
