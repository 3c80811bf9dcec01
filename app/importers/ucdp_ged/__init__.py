"""Import the UCDP Georeferenced Event Dataset (GED) CSV (see README.md in app/importers).

- `tables`: the GED codes the importer maps, the shipped country and source-grade tables;
- `fields`: cleaning and parsing one row's values;
- `convert`: one row into a bundle of dataset records (`RecordBundle`, `RowResult`);
- `parsing`: a file into row results and batches, and the parser process (`parse_rows`);
- `run`: loading the batches (`import_ucdp_ged`, `ImportSummary`, `refresh_statistics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.importers.ucdp_ged.convert import RecordBundle, RowResult
from app.importers.ucdp_ged.parsing import UcdpFormatError, UcdpImportError, parse_rows

if TYPE_CHECKING:
    from app.importers.ucdp_ged.run import ImportSummary, import_ucdp_ged, refresh_statistics

__all__ = [
    "ImportSummary",
    "RecordBundle",
    "RowResult",
    "UcdpFormatError",
    "UcdpImportError",
    "import_ucdp_ged",
    "parse_rows",
    "refresh_statistics",
]

_LOADING_SIDE = frozenset({"ImportSummary", "import_ucdp_ged", "refresh_statistics"})


def __getattr__(name: str) -> Any:
    """`run` (and with it the database layer) is imported on first use only: the parser process
    imports this package too, and every import waits for that process to start."""
    if name in _LOADING_SIDE:
        from app.importers.ucdp_ged import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
