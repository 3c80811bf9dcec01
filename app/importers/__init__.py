"""Importers that turn third-party conflict datasets into dataset records for the loader."""
