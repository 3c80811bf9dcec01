"""Events with their actor links and citations: model, schemas, filter, read form, write
rules, routes; timelines, facets, claims and the events export."""
