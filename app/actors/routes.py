"""/v1/actors."""

from fastapi import APIRouter
from sqlmodel import col

from app.actors.filter import ActorFilter, apply_actor_filter
from app.actors.model import Actor, ActorAlias
from app.actors.read import ACTOR_DETAIL, ACTOR_ORDER, ACTORS
from app.actors.rules import save_actors
from app.actors.schemas import ActorCreate, ActorUpdate
from app.events.model import EventActor
from app.kit.crud import Blocker, ResourceSpec, counter
from app.kit.items import ItemRoutes, add_item_routes
from app.statements.model import Statement, StatementMention

router = APIRouter(prefix="/v1", tags=["actors"])

ACTOR_SPEC = ResourceSpec(
    "actors",
    "actor",
    Actor,
    ActorCreate,
    save_actors,
    ACTORS,
    (
        Blocker("events", counter(col(EventActor.actor_id))),
        Blocker("statements as speaker", counter(col(Statement.speaker_id))),
        Blocker("statements as mention", counter(col(StatementMention.actor_id))),
        Blocker("child actors", counter(col(Actor.parent_id))),
    ),
    (col(ActorAlias.actor_id),),
    detail=ACTOR_DETAIL,
)

add_item_routes(
    router,
    ItemRoutes(
        ACTOR_SPEC,
        ActorUpdate,
        ActorFilter,
        apply_actor_filter,
        "Actors, sorted by name case-insensitively.",
        ACTOR_ORDER,
        "name",
        get_doc="One actor with its parent and children.",
    ),
)
