"""The device channel: each device's desired and reported state, and how it reaches the hubs.

`protocol.py` is the wire format (topics, payloads, per-device sealing) shared by our side and
the hubs; see docs/device-protocol.md.
"""
