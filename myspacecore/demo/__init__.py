"""Demo data for local development (`manage.py seed_demo`, run by `make run`): an operator
with its roster and staff, residents of each attribute, devices, remotes and PINs.

It spans every room, so it sits above them all; production settings refuse it
(`DEMO_DATA_ALLOWED`).
"""
