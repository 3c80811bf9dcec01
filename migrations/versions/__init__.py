"""The revisions, date-stamped."""
