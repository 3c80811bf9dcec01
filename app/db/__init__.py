"""Engine and sessions, dialect helpers, bulk insert, migrations."""
