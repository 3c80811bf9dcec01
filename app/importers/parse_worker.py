"""The UCDP GED parser process: `python -m app.importers.parse_worker FILE BATCH_SIZE`.

Started by `import_ucdp_ged`, which loads the batches this process converts; the protocol (pickled
messages on stdout) is described in `ucdp_ged.parsing.parse_to_stream`. A module of its own so
that the pickled classes are named after the `app.importers.ucdp_ged` modules that both
processes import them from, never `__main__`.
"""

from __future__ import annotations

import os
import sys

from app.importers.ucdp_ged.parsing import parse_to_stream


def main(argv: list[str]) -> int:
    path, batch_size = argv[0], int(argv[1])
    # The pipe to the importer carries pickles only: anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        parse_to_stream(path, batch_size, out)
    except BrokenPipeError:
        return 1  # the importer went away (killed or failed): nothing left to parse for
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
