"""The HTTP layer around the resources: dependencies, middleware, compression, health."""
