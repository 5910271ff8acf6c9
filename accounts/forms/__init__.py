"""Forms of the accounts app, one module per flow (signin.py, profile.py, …)."""
