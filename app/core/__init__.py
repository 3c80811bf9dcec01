"""Settings, problem+json errors, the contract's vocabularies and country codes."""
