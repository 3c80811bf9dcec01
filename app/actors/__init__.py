"""Actors: model, schemas, filter (and the actor scope events and statements filter by),
read form, write rules, routes."""
