"""/v1/actors."""

from fastapi import APIRouter

from app.api.routes.items import ItemRoutes, add_item_routes
from app.queries.filters import ActorFilter, apply_actor_filter
from app.queries.listing import ACTOR_ORDER
from app.schemas.resources import ActorUpdate
from app.services.crud import ACTORS

router = APIRouter(prefix="/v1", tags=["actors"])


add_item_routes(
    router,
    ItemRoutes(
        ACTORS,
        ActorUpdate,
        ActorFilter,
        apply_actor_filter,
        "Actors, sorted by name case-insensitively.",
        ACTOR_ORDER,
        "name",
        get_doc="One actor with its parent and children.",
    ),
)
