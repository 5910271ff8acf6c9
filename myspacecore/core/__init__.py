"""Shared plumbing every room may use and that knows no room: typed text, masks, app
settings, rate limits, the retry policy, refusal pages and the cleanup-command base.

Nothing here imports tenancy, accounts, smarthome or the console (`lint-imports`).
"""
