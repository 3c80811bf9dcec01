"""Record history: every version of every row, and reads as of an instant.

Two kinds of tables keep it, both written in the writing transaction (`writer`), just before its
change-feed entries:

- `history`: one row per version of a resource row — its number, when it was valid, what made
  it (create, update, delete), who (the change's author) and its read form as it was answered;
  `GET /v1/{resource}/{id}/history` pages through it.
- a mirror of each table a read touches (`event_history` for `event`, `citation_history` for
  `citation`…): the table's own columns plus `valid_from` and `valid_to`. A read `as_of` an
  instant runs the resource's ordinary read and filter statements with each table replaced by
  its rows valid at that instant (`asof`), so filters, sorting, keyset pages, embedded rows,
  exports and aggregates answer from the historical rows with no code of their own.

The low modules (`model`, `asof`) sit beside the change feed; `mirrors`, `writer` and `routes`
know the resources and sit above them (see ARCHITECTURE.md).
"""
