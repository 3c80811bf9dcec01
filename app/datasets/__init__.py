"""Dataset files: the loader every bulk path uses, the demo data, and /v1/load."""
