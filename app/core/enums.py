"""The contract's closed vocabularies, stored as strings guarded by CHECK constraints."""

from enum import StrEnum


class SourceKind(StrEnum):
    news_outlet = "news_outlet"
    news_agency = "news_agency"
    government = "government"
    military = "military"
    international_organization = "international_organization"
    ngo = "ngo"
    research = "research"
    social_media = "social_media"
    individual = "individual"
    other = "other"


class Reliability(StrEnum):
    """NATO Admiralty source reliability; A is best, and string order is quality order."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class ActorKind(StrEnum):
    state = "state"
    government_body = "government_body"
    armed_force = "armed_force"
    armed_group = "armed_group"
    alliance = "alliance"
    international_organization = "international_organization"
    political_group = "political_group"
    person = "person"
    civilian_group = "civilian_group"
    media = "media"
    other = "other"


class EventType(StrEnum):
    armed_clash = "armed_clash"
    remote_violence = "remote_violence"
    ground_offensive = "ground_offensive"
    violence_against_civilians = "violence_against_civilians"
    military_exercise = "military_exercise"
    troop_deployment = "troop_deployment"
    weapons_transfer = "weapons_transfer"
    protest = "protest"
    riot = "riot"
    defection = "defection"
    diplomatic = "diplomatic"
    other = "other"


class DatePrecision(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class GeoPrecision(StrEnum):
    exact = "exact"
    near = "near"
    admin2 = "admin2"
    admin1 = "admin1"
    country = "country"


class ActorRole(StrEnum):
    side_a = "side_a"
    side_b = "side_b"
    participant = "participant"
    supporter = "supporter"
    host = "host"


class RelationType(StrEnum):
    """How one event stands to another: `A part_of B` (an episode of B), `A follows B`,
    `A precedes B`, `A responds_to B`, or just `related`."""

    part_of = "part_of"
    follows = "follows"
    precedes = "precedes"
    responds_to = "responds_to"
    related = "related"


class RelationDirection(StrEnum):
    """Seen from the event a walk came from: `outgoing` when that event holds the relation,
    `incoming` when the related event holds it."""

    outgoing = "outgoing"
    incoming = "incoming"


class StatementKind(StrEnum):
    announcement = "announcement"
    assessment = "assessment"
    claim = "claim"
    denial = "denial"
    warning = "warning"
    threat = "threat"
    accusation = "accusation"
    commitment = "commitment"
    other = "other"


class StatementRole(StrEnum):
    speaker = "speaker"
    mentioned = "mentioned"


class KeyScope(StrEnum):
    read = "read"
    write = "write"


def sql_in(column: str, enum: type[StrEnum]) -> str:
    """A CHECK expression admitting exactly the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"
