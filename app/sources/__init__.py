"""Sources and their documents: model, schemas, filters, read forms, write rules, routes."""
