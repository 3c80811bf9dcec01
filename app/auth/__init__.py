"""API keys: their table, creation, revocation and the checks routes depend on."""
