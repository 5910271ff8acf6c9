"""The help centre: topics, search, "Was this helpful?", and its console page for platform staff."""
