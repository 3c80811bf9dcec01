"""JSON-LD views of the data (schema.org), built on the kit and the resources' models."""
