"""Statements: model, schemas, filter, read form, write rules, routes and the statements export."""
