"""Views of the accounts app, one module per user flow (as allauth lays out its flows)."""
