"""Services of the accounts app: every state change goes through one of these functions."""
