"""Converting GED rows into dataset records.

The importer only *converts*: every CSV row becomes a bundle of dataset records (API.md section 4:
dicts with a `ref`, references by ref) that the project's loader upserts. Keeping conversion
separate from loading lets rows be converted (and tested, through `parsing.parse_rows`) without
a database and lets a rejected batch be retried row by row. See README.md in app/importers for
the mapping, repairs and skip reasons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.enums import ActorKind
from app.core.text import NAME_MAX, REF_MAX
from app.importers.ucdp_ged.fields import (
    SkipRow,
    clean,
    describe_event,
    name_key,
    parse_date,
    parse_int,
    precision_from_span,
    read_articles,
    read_coordinates,
    read_dates,
    read_fatalities,
    truncate,
)
from app.importers.ucdp_ged.tables import (
    CITATION_CREDIBILITY,
    DATE_PRECISION,
    EXCERPT_MAX,
    GEO_PRECISION,
    REF_PREFIX,
    TITLE_MAX,
    TYPE_OF_VIOLENCE,
    UNATTRIBUTED_SOURCE,
    country_table,
    guess_source_kind,
    source_aliases,
    source_grades,
)

Record = dict[str, Any]
Dataset = dict[str, list[Record]]


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class RecordBundle:
    """One row's event plus every source, document and actor it references: self-contained,
    so a row can be loaded on its own when its batch is rejected."""

    event: Record
    sources: list[Record]
    documents: list[Record]
    actors: list[Record]

    def as_dataset(self) -> Dataset:
        """This row alone as a dataset file."""
        return {
            "sources": list(self.sources),
            "documents": list(self.documents),
            "actors": list(self.actors),
            "events": [self.event],
        }


@dataclass(frozen=True)
class RowResult:
    """The outcome of one CSV record: a bundle, or a skip reason; `line` is the physical line
    on which the record starts (quoted fields may span lines)."""

    line: int
    bundle: RecordBundle | None
    skip_reason: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return self.bundle is None


def _bounded_ref(prefix: str, key: str) -> str:
    """`prefix + key`, shortened with a hash when it would exceed the ref column's length."""
    ref = prefix + key
    if len(ref) <= REF_MAX:
        return ref
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return prefix + key[: REF_MAX - len(prefix) - 17].rstrip() + "~" + digest


# --------------------------------------------------------------------------------------------
# Row conversion


class RowConverter:
    """Turns rows into bundles, remembering actors and sources across rows so that the same
    name always gets the same ref and record (API names are unique case-insensitively)."""

    def __init__(self) -> None:
        self.countries = country_table()
        self.grades = source_grades()
        self.aliases = source_aliases()
        self.actors_by_name: dict[str, Record] = {}
        self.actors_by_ref: dict[str, Record] = {}
        self.sources: dict[str, Record] = {}
        self.seen_ids = bytearray()
        self.noted: set[str] = set()

    # -- ids ------------------------------------------------------------------------------
    def _seen(self, event_id: int) -> bool:
        byte, bit = divmod(event_id, 8)
        return byte < len(self.seen_ids) and bool(self.seen_ids[byte] >> bit & 1)

    def _mark(self, event_id: int) -> None:
        byte, bit = divmod(event_id, 8)
        if byte >= len(self.seen_ids):
            self.seen_ids.extend(bytes(byte + 1 - len(self.seen_ids) + 4096))
        self.seen_ids[byte] |= 1 << bit

    def _once(self, note: str, warnings: list[str], message: str) -> None:
        """Warn about a per-name problem on its first row only, not on every row."""
        if note not in self.noted:
            self.noted.add(note)
            warnings.append(message)

    def _cut_long_name(self, name: str, note: str, label: str, warnings: list[str]) -> str:
        """A name over the API's length limit, truncated (warned about on its first row only)."""
        self._once(
            f"{note}:{name_key(name)}",
            warnings,
            f"{label} is longer than {NAME_MAX} characters; truncated",
        )
        return truncate(name, NAME_MAX)

    # -- the row --------------------------------------------------------------------------
    def convert(self, line: int, get: Callable[[str], str]) -> RowResult:
        warnings: list[str] = []
        try:
            event_id, bundle = self._convert(get, warnings)
        except SkipRow as skip:
            return RowResult(line, None, str(skip), tuple(warnings))
        self._mark(event_id)
        return RowResult(line, bundle, None, tuple(warnings))

    def _convert(self, get: Callable[[str], str], warnings: list[str]) -> tuple[int, RecordBundle]:
        raw_id = get("id").strip()
        event_id = parse_int(raw_id)
        if event_id is None or event_id < 0:
            raise SkipRow(
                f"id {raw_id!r} is not a non-negative whole number" if raw_id else "id is missing",
            )
        if self._seen(event_id):
            raise SkipRow(f"duplicate id {event_id} (an earlier row has the same id)")

        start, end = read_dates(get, warnings)
        latitude, longitude = read_coordinates(get, warnings)
        low, best, high = read_fatalities(get, warnings)

        violence = parse_int(get("type_of_violence"))
        event_type: str | None = TYPE_OF_VIOLENCE.get(violence) if violence is not None else None
        if event_type is None:
            event_type = "other"
            raw_type = get("type_of_violence")
            warnings.append(f"type_of_violence {raw_type!r} is not 1, 2 or 3; type set to 'other'")

        date_code = parse_int(get("date_prec"))
        date_precision: str | None = DATE_PRECISION.get(date_code) if date_code is not None else None
        if date_precision is None:
            date_precision = precision_from_span(start, end)
            warnings.append(
                f"date_prec {get('date_prec')!r} is not 1-5; "
                f"date_precision {date_precision!r} taken from the date range"
            )

        where_code = parse_int(get("where_prec"))
        geo_precision = GEO_PRECISION.get(where_code) if where_code is not None else None
        if geo_precision is None:
            warnings.append(
                f"where_prec {get('where_prec')!r} is not 1-7; geo_precision left empty",
            )

        country_name = clean(get("country"))
        country_id = parse_int(get("country_id"))
        country = self.countries.iso(country_id, country_name)
        if country is None:
            warnings.append(
                f"country {country_name!r} (country_id {get('country_id')!r}) is not "
                "in gw_countries.csv; country left empty"
            )
        elif country_id not in self.countries.by_gwno:
            self._once(
                f"country:{country_id}:{country_name}",
                warnings,
                f"country_id {get('country_id')!r} is not in gw_countries.csv; "
                f"country {country} found by the name {country_name!r}",
            )

        actors: list[Record] = []
        links: list[Record] = []
        for role, gw_column in (("side_a", "gwnoa"), ("side_b", "gwnob")):
            actor = self._actor(role, gw_column, get, warnings)
            if actor is None:
                continue
            if any(link["actor"] == actor["ref"] for link in links):
                warnings.append(f"side_a and side_b are the same actor {actor['name']!r}")
            links.append({"actor": actor["ref"], "role": role})
            if actor not in actors:
                actors.append(actor)

        sources, documents, citations = self._citations(event_id, get, warnings)

        dyad = clean(get("dyad_name")) or " - ".join(
            filter(None, (clean(get("side_a")), clean(get("side_b"))))
        )
        place = clean(get("where_coordinates")) or clean(get("adm_1")) or country_name
        title = f"{dyad} ({place})" if place else dyad
        event: Record = {
            "ref": f"{REF_PREFIX}{event_id}",
            "title": truncate(title or f"UCDP GED event {event_id}", TITLE_MAX),
            "type": event_type,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "date_precision": date_precision,
            "country": country,
            "admin1": clean(get("adm_1")) or None,
            "location": (
                clean(get("where_coordinates"))
                or truncate(clean(get("where_description")), TITLE_MAX)
                or None
            ),
            "latitude": latitude,
            "longitude": longitude,
            "geo_precision": geo_precision,
            "description": describe_event(event_id, get),
            "fatalities_low": low,
            "fatalities_best": best,
            "fatalities_high": high,
            "actors": links,
            "citations": citations,
        }
        return event_id, RecordBundle(event, sources, documents, actors)

    # -- parts ----------------------------------------------------------------------------
    def _actor(
        self, role: str, gw_column: str, get: Callable[[str], str], warnings: list[str]
    ) -> Record | None:
        name = clean(get(role))
        if not name:
            warnings.append(f"{role} is empty; no {role} actor linked")
            return None
        if len(name) > NAME_MAX:
            name = self._cut_long_name(name, "long-actor", f"{role} name", warnings)
        key = name.casefold()
        new_id = parse_int(get(f"{role}_new_id"))
        dset_id = parse_int(get(f"{role}_dset_id"))
        if new_id is not None:
            ref = f"{REF_PREFIX}actor:{new_id}"
        elif dset_id is not None:
            ref = f"{REF_PREFIX}actor:dset:{dset_id}"
        else:
            ref = _bounded_ref(f"{REF_PREFIX}actor:name:", key)

        existing = self.actors_by_name.get(key)
        if existing is not None:
            if existing["ref"] != ref:
                self._once(
                    f"actor-merge:{key}:{ref}",
                    warnings,
                    f"actor {name!r} ({ref}) has the same name as {existing['ref']}; "
                    "linked to that actor (API actor names are unique)",
                )
            return existing
        existing = self.actors_by_ref.get(ref)
        if existing is not None:
            first = existing["name"]
            self._once(
                f"actor-rename:{ref}:{key}",
                warnings,
                f"{ref} is named both {first!r} and {name!r}; linked to {first!r}",
            )
            self.actors_by_name[key] = existing
            return existing

        kind, country = ActorKind.armed_group, None
        if key == "civilians":
            kind = ActorKind.civilian_group
        elif key.startswith("government of "):
            kind = ActorKind.state
            gw_numbers = [n for n in (parse_int(p) for p in get(gw_column).split(",")) if n]
            gwno = gw_numbers[0] if len(gw_numbers) == 1 else None
            country = self.countries.iso(gwno, name[len("government of ") :])
            if country is None:
                gw_raw = get(gw_column)
                warnings.append(f"no country for {name!r} ({gw_column} {gw_raw!r}); left empty")
        ids = f"UCDP actor id {new_id}" if new_id is not None else "UCDP actor"
        if dset_id is not None and dset_id != new_id:
            ids += f" (dset id {dset_id})"
        actor: Record = {
            "ref": ref,
            "name": name,
            "kind": kind,
            "country": country,
            "description": f"{ids}, from the UCDP Georeferenced Event Dataset.",
        }
        self.actors_by_name[key] = actor
        self.actors_by_ref[ref] = actor
        return actor

    def _source(self, office: str, warnings: list[str]) -> Record:
        name = self.aliases.source_of(clean(office) or UNATTRIBUTED_SOURCE)
        if len(name) > NAME_MAX:
            name = self._cut_long_name(name, "long-source", f"source_office {name[:60]!r}…", warnings)
        key = name.casefold()
        source = self.sources.get(key)
        if source is not None:
            return source
        if name == UNATTRIBUTED_SOURCE:
            source = {
                "kind": "other",
                "reliability": "F",
                "country": None,
                "description": "Articles the UCDP GED cites without naming the office "
                "that published them (empty source_office).",
            }
        else:
            grade = self.grades.lookup(name)
            if grade is None:
                source = {
                    "kind": guess_source_kind(name),
                    "reliability": "F",
                    "country": None,
                    "description": None,
                }
            else:
                source = {
                    "kind": grade.kind,
                    "reliability": grade.reliability,
                    "country": grade.country,
                    "description": grade.note,
                }
        source = {
            "ref": _bounded_ref(f"{REF_PREFIX}source:", key),
            "name": name,
            "aliases": self.aliases.aliases_of(name),
            **source,
        }
        self.sources[key] = source
        return source

    def _citations(
        self, event_id: int, get: Callable[[str], str], warnings: list[str]
    ) -> tuple[list[Record], list[Record], list[Record]]:
        sources: list[Record] = []
        documents: list[Record] = []
        citations: list[Record] = []
        for number, item in enumerate(read_articles(get, warnings), start=1):
            source = self._source(item.office, warnings)
            if source not in sources:
                sources.append(source)
            published_on = parse_date(item.date_text)
            if item.date_text and published_on is None:
                warnings.append(
                    f"source_date {item.date_text!r} is not a date; published_on left empty",
                )
            text = clean(item.headline) or clean(item.article)
            if not text:
                when = published_on.isoformat() if published_on else "undated"
                text = f"{source['name']}, {when}"
            title = truncate(text, TITLE_MAX)
            ref = f"{REF_PREFIX}doc:{event_id}:{number}"
            documents.append(
                {
                    "ref": ref,
                    "source": source["ref"],
                    "title": title,
                    "published_on": published_on.isoformat() if published_on else None,
                }
            )
            excerpt = truncate(text, EXCERPT_MAX) if title != text else None
            citations.append(
                {"document": ref, "credibility": CITATION_CREDIBILITY, "excerpt": excerpt},
            )
        return sources, documents, citations
