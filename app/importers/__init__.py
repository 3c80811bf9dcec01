"""Importers that turn third-party conflict datasets into dataset records for the loader."""

# Rows per batch, each batch one transaction. Larger batches write each index page they touch
# for more rows at once: at 100,000 events on SQLite, batches of 1,000 dirtied nearly one leaf
# page per row and index, and committing them took a fifth of the import; batches of 5,000
# made the whole import about 15 % faster (10,000: no faster again). A batch holds its rows'
# records in both processes, a few MiB.
BATCH_SIZE = 5_000
