"""A minimal django-allauth project (login by a 6-digit e-mail code), the peer of bench/peer_allauth.py.

It runs only in its own virtual environment (artifacts/peer-venv/, made by the benchmark):
nothing of MySpaceCore is imported here, and nothing here is imported by MySpaceCore.
"""
