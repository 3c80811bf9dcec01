"""Alembic migrations, the only source of the schema; installed as `app.migrations`."""
