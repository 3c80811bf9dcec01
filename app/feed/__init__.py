"""The change feed: its table, the entries every write queues, and /v1/changes."""
