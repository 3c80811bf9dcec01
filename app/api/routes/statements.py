"""/v1/statements."""

from fastapi import APIRouter

from app.api.routes.common import StatementSortParam
from app.api.routes.items import ItemRoutes, Sorting, add_item_routes
from app.queries.filters import StatementFilter, apply_statement_filter
from app.queries.listing import StatementSort, statement_sort_key
from app.schemas.resources import StatementUpdate
from app.services.crud import STATEMENTS

router = APIRouter(prefix="/v1", tags=["statements"])


add_item_routes(
    router,
    ItemRoutes(
        STATEMENTS,
        StatementUpdate,
        StatementFilter,
        apply_statement_filter,
        "Statements, newest first by default; ties by id in the same direction.",
        Sorting(StatementSortParam, StatementSort.stated_on_desc, statement_sort_key),
    ),
)
