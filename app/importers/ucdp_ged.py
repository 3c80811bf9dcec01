"""Import the UCDP Georeferenced Event Dataset (GED) CSV.

The importer only *converts*: every CSV row becomes a bundle of dataset records (API.md section 4:
dicts with a `ref`, references by ref) that the project's loader upserts. Keeping conversion
separate from loading lets `parse_rows` be tested without a database and lets a rejected batch be
retried row by row. See README.md in this package for the mapping, repairs and skip reasons.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import pickle
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy.orm import Session

from app.core.errors import DatasetError

__all__ = [
    "ImportSummary",
    "RecordBundle",
    "RowResult",
    "UcdpFormatError",
    "UcdpImportError",
    "import_ucdp_ged",
    "parse_rows",
]

Record = dict[str, Any]
Dataset = dict[str, list[Record]]

REF_PREFIX = "ucdp-ged:"
REF_MAX = 200  # app.models.common.REF_MAX; repeated so parsing needs no database models
NAME_MAX = 500
TITLE_MAX = 300
EXCERPT_MAX = 4000
UNATTRIBUTED_SOURCE = "UCDP GED (unattributed)"
CITATION_CREDIBILITY = 6  # Admiralty "cannot be judged": the importer cannot grade each article

TYPE_OF_VIOLENCE = {1: "armed_clash", 2: "armed_clash", 3: "violence_against_civilians"}
DATE_PRECISION = {1: "day", 2: "week", 3: "week", 4: "month", 5: "year"}
GEO_PRECISION = {
    1: "exact",
    2: "near",
    3: "admin2",
    4: "admin1",
    5: "admin1",
    6: "country",
    7: "country",
}

REQUIRED_COLUMNS = ("id", "date_start", "type_of_violence", "side_a", "side_b")

SOURCE_KINDS = frozenset(
    {
        "news_outlet",
        "news_agency",
        "government",
        "military",
        "international_organization",
        "ngo",
        "research",
        "social_media",
        "individual",
        "other",
    }
)
RELIABILITY_GRADES = frozenset("ABCDEF")

_WS = re.compile(r"\s+")
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][0-9:.+Z-]*)?\s*$")
_TRIPLET = re.compile(
    r"^\s*(?P<office>.*?)\s*,\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})\s*,(?P<headline>.*)$",
    re.S,
)


class UcdpFormatError(ValueError):
    """The file as a whole is not a UCDP GED CSV (e.g. required columns are missing)."""


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


@dataclass
class ImportSummary:
    """What an import did; `counts` merges the loader's reports of every committed batch."""

    rows_read: int = 0
    events_imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    batches: int = 0
    # Our ref -> the ref of a stored source/actor that already had the name (cited instead).
    adopted: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """False when any row was skipped (the CLI exits non-zero then)."""
        return not self.skipped

    def add_counts(self, report: Any) -> None:
        """Merge one loader report ({"events": {"created": n, ...}, ...})."""
        for resource, counts in dict(report).items():
            merged = self.counts.setdefault(resource, {})
            for key, value in dict(counts).items():
                merged[key] = merged.get(key, 0) + int(value)


# --------------------------------------------------------------------------------------------
# Small parsers


def _clean(value: str | None) -> str:
    """Collapse whitespace (GED text has tabs, newlines and double spaces)."""
    return _WS.sub(" ", value or "").strip()


def _key(name: str) -> str:
    """The case-insensitive identity of a name, as the API compares names."""
    return _clean(name).casefold()


def _truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut, so titles stay readable."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _parse_int(raw: str | None) -> int | None:
    """A whole number, also written as `12.0`; None when empty or not whole."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _parse_float(raw: str) -> float | None:
    try:
        number = float(raw.strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _parse_date(raw: str | None) -> date | None:
    """`2013-01-03`, also with a time part (`2013-01-03 00:00:00.000`): the date is kept."""
    match = _DATE.match(raw or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _bounded_ref(prefix: str, key: str) -> str:
    """`prefix + key`, shortened with a hash when it would exceed the ref column's length."""
    ref = prefix + key
    if len(ref) <= REF_MAX:
        return ref
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return prefix + key[: REF_MAX - len(prefix) - 17].rstrip() + "~" + digest


def _split_list(raw: str) -> list[str]:
    """A `;`-separated GED list, positions kept (an empty entry stays an empty string)."""
    return [part.strip() for part in raw.split(";")] if raw.strip() else []


def _article_entries(raw: str) -> list[str]:
    """`source_article` entries: since ~2010 GED writes `"office,date,headline";"…"`, where the
    quotes protect semicolons inside headlines; older rows hold one free-text citation."""
    text = raw.strip()
    if not text:
        return []
    if not text.startswith('"'):
        return [text]
    entries: list[str] = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=";", skipinitialspace=True):
        entries.extend(entry.strip() for entry in row if entry.strip())
    return entries


def _precision_from_span(start: date, end: date) -> str:
    """A date precision implied by the range, for rows whose `date_prec` is unusable."""
    days = (end - start).days
    if days == 0:
        return "day"
    if days <= 7:
        return "week"
    return "month" if days <= 31 else "year"


# --------------------------------------------------------------------------------------------
# Shipped tables


def _normalise_country(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _clean(text.replace("&", " and ").replace("\u2019", "'")).casefold().strip(" .")


@dataclass(frozen=True)
class CountryTable:
    """Gleditsch-Ward numbers and country names to ISO 3166-1 alpha-2 (gw_countries.csv)."""

    by_gwno: dict[int, str]
    by_name: dict[str, str]

    def iso(self, gwno: int | None, name: str | None = None) -> str | None:
        """By G-W number first (UCDP's own key); the name is the fallback."""
        if gwno is not None and gwno in self.by_gwno:
            return self.by_gwno[gwno]
        return self.by_name.get(_normalise_country(name)) if name else None

    @classmethod
    def parse(cls, text: str) -> CountryTable:
        by_gwno: dict[int, str] = {}
        explicit: dict[str, str] = {}
        derived: dict[str, str] = {}
        for number, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
            gwno = _parse_int(row.get("gwno"))
            iso = (row.get("iso2") or "").strip().upper()
            if gwno is None or (iso and not re.fullmatch(r"[A-Z]{2}", iso)):
                raise ValueError(f"gw_countries.csv line {number}: bad row {row!r}")
            if not iso:
                continue  # a historical state with no single successor: name fallback decides
            by_gwno[gwno] = iso
            names = [row.get("name") or "", *(row.get("aliases") or "").split("|")]
            for name in filter(None, (_normalise_country(n) for n in names)):
                explicit.setdefault(name, iso)
                bare = _normalise_country(re.sub(r"\(.*?\)", " ", name))
                inner = re.findall(r"\((.*?)\)", name)
                for extra in (bare, *(_normalise_country(i) for i in inner)):
                    if extra:
                        derived.setdefault(extra, iso)
        return cls(by_gwno=by_gwno, by_name={**derived, **explicit})


@dataclass(frozen=True)
class SourceGrade:
    kind: str
    reliability: str
    country: str | None
    note: str | None


@dataclass(frozen=True)
class SourceGrades:
    """The editable table of known offices (source_grades.csv): exact or prefix matches on the
    case-insensitive name; the longest match wins."""

    exact: dict[str, SourceGrade]
    prefixes: tuple[tuple[str, SourceGrade], ...]

    def lookup(self, name: str) -> SourceGrade | None:
        key = _key(name)
        candidates: list[tuple[int, SourceGrade]] = []
        if key in self.exact:
            candidates.append((len(key), self.exact[key]))
        for prefix, grade in self.prefixes:
            if key == prefix or (key.startswith(prefix) and not key[len(prefix)].isalnum()):
                candidates.append((len(prefix), grade))
        return max(candidates, key=lambda item: item[0])[1] if candidates else None

    @classmethod
    def parse(cls, text: str) -> SourceGrades:
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        exact: dict[str, SourceGrade] = {}
        prefixes: list[tuple[str, SourceGrade]] = []
        for number, row in enumerate(csv.DictReader(lines), start=2):
            name = _key(row.get("name") or "")
            match = (row.get("match") or "exact").strip().lower()
            kind = (row.get("kind") or "").strip()
            grade = (row.get("reliability") or "").strip().upper()
            country = (row.get("country") or "").strip().upper() or None
            if (
                not name
                or match not in {"exact", "prefix"}
                or kind not in SOURCE_KINDS
                or grade not in RELIABILITY_GRADES
                or (country is not None and not re.fullmatch(r"[A-Z]{2}", country))
            ):
                raise ValueError(f"source_grades.csv data row {number}: bad row {row!r}")
            entry = SourceGrade(kind, grade, country, _clean(row.get("note")) or None)
            if match == "exact":
                exact[name] = entry
            else:
                prefixes.append((name, entry))
        return cls(exact=exact, prefixes=tuple(prefixes))


def _package_text(name: str) -> str:
    return resources.files("app.importers").joinpath(name).read_text(encoding="utf-8")


@cache
def country_table() -> CountryTable:
    """The shipped G-W table (read once per process)."""
    return CountryTable.parse(_package_text("gw_countries.csv"))


@cache
def source_grades() -> SourceGrades:
    """The shipped grade table (read once per process)."""
    return SourceGrades.parse(_package_text("source_grades.csv"))


_KIND_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        ("social_media", r"^@|\bon (twitter|facebook|telegram|youtube|x)\b"),
        (
            "international_organization",
            r"\b(united nations|un|unhcr|ohchr|ocha|unicef|osce|minus\w*|monusco|unami|unama)\b",
        ),
        ("government", r"\b(ministry|government|governor|presidency|police)\b"),
        ("military", r"\b(army|armed forces|military|navy|air force)\b"),
        ("news_agency", r"\b(news agency|press agency|agence|agency|newswires?)\b"),
        (
            "ngo",
            r"\b(human rights|watch|observatory|amnesty|red cross|red crescent|"
            r"committee|documentation cent(er|re))\b",
        ),
        (
            "research",
            r"\b(institute|university|research|database|tracker|portal|project|"
            r"journal of|atlas|bulletin)\b",
        ),
        (
            "news_outlet",
            r"\b(news|times|post|radio|tv|television|daily|herald|tribune|press|"
            r"journal|gazette|el sol|diario|di[aá]rio|folha|noticias|express|"
            r"star|mail|globe|monitor)\b|\.com\b",
        ),
    )
)


def _guess_source_kind(name: str) -> str:
    """Keyword guess for offices missing from the table; `other` when nothing fits."""
    for kind, pattern in _KIND_HINTS:
        if pattern.search(name):
            return kind
    return "other"


# --------------------------------------------------------------------------------------------
# Row conversion


class _Skip(Exception):
    """Raised inside the converter: the row cannot be imported."""


@dataclass
class _Item:
    """One cited article before it becomes a document."""

    office: str
    date_text: str
    headline: str
    article: str


class _Converter:
    """Turns rows into bundles, remembering actors and sources across rows so that the same
    name always gets the same ref and record (API names are unique case-insensitively)."""

    def __init__(self) -> None:
        self.countries = country_table()
        self.grades = source_grades()
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

    # -- the row --------------------------------------------------------------------------
    def convert(self, line: int, get: Callable[[str], str]) -> RowResult:
        warnings: list[str] = []
        try:
            event_id, bundle = self._convert(get, warnings)
        except _Skip as skip:
            return RowResult(line, None, str(skip), tuple(warnings))
        self._mark(event_id)
        return RowResult(line, bundle, None, tuple(warnings))

    def _convert(self, get: Callable[[str], str], warnings: list[str]) -> tuple[int, RecordBundle]:
        raw_id = get("id").strip()
        event_id = _parse_int(raw_id)
        if event_id is None or event_id < 0:
            raise _Skip(
                f"id {raw_id!r} is not a non-negative whole number" if raw_id else "id is missing",
            )
        if self._seen(event_id):
            raise _Skip(f"duplicate id {event_id} (an earlier row has the same id)")

        start, end = self._dates(get, warnings)
        latitude, longitude = self._coordinates(get, warnings)
        low, best, high = self._fatalities(get, warnings)

        violence = _parse_int(get("type_of_violence"))
        event_type = TYPE_OF_VIOLENCE.get(violence) if violence is not None else None
        if event_type is None:
            event_type = "other"
            raw_type = get("type_of_violence")
            warnings.append(f"type_of_violence {raw_type!r} is not 1, 2 or 3; type set to 'other'")

        date_code = _parse_int(get("date_prec"))
        date_precision = DATE_PRECISION.get(date_code) if date_code is not None else None
        if date_precision is None:
            date_precision = _precision_from_span(start, end)
            warnings.append(
                f"date_prec {get('date_prec')!r} is not 1-5; "
                f"date_precision {date_precision!r} taken from the date range"
            )

        where_code = _parse_int(get("where_prec"))
        geo_precision = GEO_PRECISION.get(where_code) if where_code is not None else None
        if geo_precision is None:
            warnings.append(
                f"where_prec {get('where_prec')!r} is not 1-7; geo_precision left empty",
            )

        country_name = _clean(get("country"))
        country_id = _parse_int(get("country_id"))
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

        dyad = _clean(get("dyad_name")) or " - ".join(
            filter(None, (_clean(get("side_a")), _clean(get("side_b"))))
        )
        place = _clean(get("where_coordinates")) or _clean(get("adm_1")) or country_name
        title = f"{dyad} ({place})" if place else dyad
        event: Record = {
            "ref": f"{REF_PREFIX}{event_id}",
            "title": _truncate(title or f"UCDP GED event {event_id}", TITLE_MAX),
            "type": event_type,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "date_precision": date_precision,
            "country": country,
            "admin1": _clean(get("adm_1")) or None,
            "location": (
                _clean(get("where_coordinates"))
                or _truncate(_clean(get("where_description")), TITLE_MAX)
                or None
            ),
            "latitude": latitude,
            "longitude": longitude,
            "geo_precision": geo_precision,
            "description": self._description(event_id, get),
            "fatalities_low": low,
            "fatalities_best": best,
            "fatalities_high": high,
            "actors": links,
            "citations": citations,
        }
        return event_id, RecordBundle(event, sources, documents, actors)

    # -- parts ----------------------------------------------------------------------------
    def _dates(self, get: Callable[[str], str], warnings: list[str]) -> tuple[date, date]:
        raw_start, raw_end = get("date_start").strip(), get("date_end").strip()
        start = _parse_date(raw_start)
        if start is None:
            raise _Skip(
                f"date_start {raw_start!r} is not a date" if raw_start else "date_start is missing",
            )
        if not raw_end:
            warnings.append("date_end is missing; set to date_start")
            return start, start
        end = _parse_date(raw_end)
        if end is None:
            raise _Skip(f"date_end {raw_end!r} is not a date")
        if end < start:
            raise _Skip(f"date_end {end} is before date_start {start}")
        return start, end

    def _coordinates(
        self, get: Callable[[str], str], warnings: list[str]
    ) -> tuple[float | None, float | None]:
        raw_lat, raw_lon = get("latitude").strip(), get("longitude").strip()
        if not raw_lat and not raw_lon:
            return None, None
        if not raw_lat or not raw_lon:
            missing = "latitude" if not raw_lat else "longitude"
            raise _Skip(f"{missing} is missing while the other coordinate is given")
        latitude, longitude = _parse_float(raw_lat), _parse_float(raw_lon)
        if latitude is None:
            raise _Skip(f"latitude {raw_lat!r} is not a number")
        if longitude is None:
            raise _Skip(f"longitude {raw_lon!r} is not a number")
        if not -90 <= latitude <= 90:
            raise _Skip(f"latitude {raw_lat} is out of range -90..90")
        if not -180 <= longitude <= 180:
            raise _Skip(f"longitude {raw_lon} is out of range -180..180")
        if latitude == 0 and longitude == 0:
            warnings.append("coordinates are 0,0 (possibly a placeholder); kept")
        return latitude, longitude

    def _fatalities(
        self, get: Callable[[str], str], warnings: list[str]
    ) -> tuple[int | None, int | None, int | None]:
        values: dict[str, int | None] = {}
        for column in ("low", "best", "high"):
            raw = get(column).strip()
            value = _parse_int(raw)
            if raw and value is None:
                warnings.append(f"{column} {raw!r} is not a whole number; left empty")
            elif value is not None and value < 0:
                warnings.append(f"{column} {value} is negative; left empty")
                value = None
            values[column] = value
        low, best, high = values["low"], values["best"], values["high"]
        given = [v for v in (low, best, high) if v is not None]
        inverted = (
            (low is not None and best is not None and low > best)
            or (best is not None and high is not None and best > high)
            or (low is not None and high is not None and low > high)
        )
        if inverted:
            new_low = min(given) if low is not None else None
            new_high = max(given) if high is not None else None
            problem = f"fatalities best {best} outside low-high {low}-{high}"
            warnings.append(f"{problem}; range widened to {new_low}-{new_high}")
            low, high = new_low, new_high
        return low, best, high

    def _actor(
        self, role: str, gw_column: str, get: Callable[[str], str], warnings: list[str]
    ) -> Record | None:
        name = _clean(get(role))
        if not name:
            warnings.append(f"{role} is empty; no {role} actor linked")
            return None
        if len(name) > NAME_MAX:
            self._once(
                f"long-actor:{_key(name)}",
                warnings,
                f"{role} name is longer than {NAME_MAX} characters; truncated",
            )
            name = _truncate(name, NAME_MAX)
        key = name.casefold()
        new_id = _parse_int(get(f"{role}_new_id"))
        dset_id = _parse_int(get(f"{role}_dset_id"))
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

        kind, country = "armed_group", None
        if key == "civilians":
            kind = "civilian_group"
        elif key.startswith("government of "):
            kind = "state"
            gw_numbers = [n for n in (_parse_int(p) for p in get(gw_column).split(",")) if n]
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
        name = _clean(office) or UNATTRIBUTED_SOURCE
        if len(name) > NAME_MAX:
            self._once(
                f"long-source:{_key(name)}",
                warnings,
                f"source_office {name[:60]!r}… is longer than {NAME_MAX} characters; truncated",
            )
            name = _truncate(name, NAME_MAX)
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
                    "kind": _guess_source_kind(name),
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
        source = {"ref": _bounded_ref(f"{REF_PREFIX}source:", key), "name": name, **source}
        self.sources[key] = source
        return source

    def _items(self, get: Callable[[str], str], warnings: list[str]) -> list[_Item]:
        """Pair the parallel `;` lists up into articles (see README: "Sources and documents")."""
        article_raw = get("source_article")
        offices = _split_list(get("source_office"))
        dates = _split_list(get("source_date"))
        headlines = _split_list(get("source_headline"))
        entries = _article_entries(article_raw)

        if not any(offices):
            # No office named: one unattributed document per citation text.
            if entries:
                return [
                    _Item(
                        "",
                        dates[0] if len(dates) == 1 and len(entries) == 1 else "",
                        headlines[0] if len(headlines) == 1 and len(entries) == 1 else "",
                        entry,
                    )
                    for entry in entries
                ]
            return [
                _Item("", dates[i] if len(dates) == len(headlines) else "", headline, "")
                for i, headline in enumerate(headlines)
                if headline
            ]

        triplets = [_TRIPLET.match(entry) for entry in entries]
        if entries and all(triplets):
            items = [
                _Item(m["office"], m["date"], m["headline"], entry)
                for m, entry in zip(triplets, entries, strict=True)
                if m
            ]
            if [_key(i.office) for i in items] != [_key(o) for o in offices]:
                warnings.append("source_office disagrees with source_article; used the latter")
            return items

        count = len(offices)
        plain = [p.strip() for p in article_raw.split(";")] if article_raw.strip() else []
        articles = entries if len(entries) == count else plain
        unpaired: list[str] = []

        def paired(values: list[str], name: str, joinable: bool) -> list[str]:
            if len(values) == count:
                return values
            if values and count == 1 and joinable:
                return ["; ".join(values)]  # one article: the semicolons were its own text
            if values:
                unpaired.append(f"{name} {len(values)}")
            return [""] * count

        dates = paired(dates, "dates", joinable=False)
        headlines = paired(headlines, "headlines", joinable=True)
        articles = paired(articles, "articles", joinable=True)
        if unpaired:
            warnings.append(
                f"ragged source lists: offices {count}, {', '.join(unpaired)}; "
                "those were not paired with the offices"
            )
        return [_Item(*parts) for parts in zip(offices, dates, headlines, articles, strict=True)]

    def _citations(
        self, event_id: int, get: Callable[[str], str], warnings: list[str]
    ) -> tuple[list[Record], list[Record], list[Record]]:
        sources: list[Record] = []
        documents: list[Record] = []
        citations: list[Record] = []
        for number, item in enumerate(self._items(get, warnings), start=1):
            source = self._source(item.office, warnings)
            if source not in sources:
                sources.append(source)
            published_on = _parse_date(item.date_text)
            if item.date_text and published_on is None:
                warnings.append(
                    f"source_date {item.date_text!r} is not a date; published_on left empty",
                )
            text = _clean(item.headline) or _clean(item.article)
            if not text:
                when = published_on.isoformat() if published_on else "undated"
                text = f"{source['name']}, {when}"
            title = _truncate(text, TITLE_MAX)
            ref = f"{REF_PREFIX}doc:{event_id}:{number}"
            documents.append(
                {
                    "ref": ref,
                    "source": source["ref"],
                    "title": title,
                    "published_on": published_on.isoformat() if published_on else None,
                }
            )
            excerpt = _truncate(text, EXCERPT_MAX) if title != text else None
            citations.append(
                {"document": ref, "credibility": CITATION_CREDIBILITY, "excerpt": excerpt},
            )
        return sources, documents, citations

    def _description(self, event_id: int, get: Callable[[str], str]) -> str:
        """Context that has no field of its own, as readable text (searched by `q`)."""
        head = f"UCDP GED event {event_id}"
        if _clean(get("relid")):
            head += f" ({_clean(get('relid'))})"
        lines = [head + "."]
        if _clean(get("conflict_name")):
            lines.append(f"Conflict: {_clean(get('conflict_name'))}.")
        where = _clean(get("where_description"))
        admin = ", ".join(filter(None, (_clean(get("adm_1")), _clean(get("adm_2")))))
        if where or admin:
            lines.append("Where: " + "; ".join(filter(None, (where, admin))) + ".")
        deaths = [
            (label, _parse_int(get(column)))
            for label, column in (
                ("side A", "deaths_a"),
                ("side B", "deaths_b"),
                ("civilians", "deaths_civilians"),
                ("unknown", "deaths_unknown"),
            )
        ]
        if any(value is not None for _, value in deaths):
            lines.append(
                "Deaths: "
                + ", ".join(f"{label} {value}" for label, value in deaths if value is not None)
                + "."
            )
        if _clean(get("source_original")):
            lines.append(f"Original source: {_clean(get('source_original'))}.")
        if _parse_int(get("event_clarity")) == 2:
            lines.append("Event clarity: low (UCDP event_clarity 2).")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Streaming


def parse_rows(lines: Iterable[str] | TextIO) -> Iterator[RowResult]:
    """Stream a GED CSV (open text files with `newline=""`), one result per data record.

    Memory stays flat: rows are converted one at a time; only the actor and source registries
    (one entry per distinct name) and a bitmap of seen ids grow. Raises UcdpFormatError when
    the header lacks the required columns.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(name.strip().lstrip("\ufeff").strip().casefold(), index)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        names = ", ".join(missing)
        raise UcdpFormatError(f"line {reader.line_num}: not a UCDP GED header; missing: {names}")
    width = len(header)
    converter = _Converter()
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last_line = reader.line_num
            yield RowResult(start, None, f"unreadable CSV record: {exc}")
            continue
        last_line = reader.line_num
        if not any(value.strip() for value in row):
            continue  # a blank line is not a record
        if len(row) < width or any(value.strip() for value in row[width:]):
            yield RowResult(
                start,
                None,
                f"expected {width} fields, found {len(row)} (broken quoting or a cut line)",
            )
            continue

        def get(column: str, row: list[str] = row) -> str:
            index = columns.get(column)
            return row[index] if index is not None else ""

        yield converter.convert(start, get)


class _CountingLines:
    """Decodes a binary file line by line, counting bytes for the progress bar (text files
    cannot `tell()` while iterated) and falling back to Windows-1252 for non-UTF-8 lines."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes_read = 0
        self.fallback_lines: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, data in enumerate(self.raw, start=1):
            self.bytes_read += len(data)
            if number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                self.fallback_lines.append(number)
                yield data.decode("cp1252", errors="replace")


def _merge(bundles: list[RowResult]) -> Dataset:
    """One dataset for a batch; shared sources, actors and documents appear once (by ref)."""
    merged: dict[str, dict[str, Record]] = {k: {} for k in ("sources", "documents", "actors")}
    events: list[Record] = []
    for result in bundles:
        assert result.bundle is not None
        for kind, records in (
            ("sources", result.bundle.sources),
            ("documents", result.bundle.documents),
            ("actors", result.bundle.actors),
        ):
            for record in records:
                merged[kind].setdefault(record["ref"], record)
        events.append(result.bundle.event)
    return {**{k: list(v.values()) for k, v in merged.items()}, "events": events}


def _describe(error: DatasetError) -> str:
    return f"rejected by the loader: {error}"


def _adopt_existing(session: Session, dataset: Dataset, adopted: dict[str, str]) -> None:
    """Point at rows that already hold a source's or actor's name under another ref.

    Names are unique, so a "TIME" source from the demo data or an actor an analyst entered by
    hand would otherwise make every row citing that name fail; an earlier GED release may also
    have given a shared name to another UCDP id. The stored row is cited as it is (never
    overwritten); rows without a ref cannot be referenced and stay a loader error.
    """
    import sqlalchemy as sa

    from app.models import Actor, ActorAlias, Source

    # Any: SQLModel's attribute types are the Python values, not SQL columns, to mypy.
    actor: Any = Actor
    alias: Any = ActorAlias
    models: tuple[tuple[str, Any], ...] = (("sources", Source), ("actors", Actor))
    for kind, model in models:
        by_key = {_key(record["name"]): record for record in dataset[kind]}
        keys = sorted(by_key)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found = list(
                session.execute(
                    sa.select(model.name_key, model.ref).where(model.name_key.in_(chunk)),
                )
            )
            if kind == "actors":
                found += session.execute(
                    sa.select(alias.alias_key, actor.ref)
                    .join(actor, actor.id == alias.actor_id)
                    .where(alias.alias_key.in_(chunk))
                )
            for name_key, ref in found:
                mine = by_key[name_key]["ref"]
                if ref is not None and ref != mine:
                    adopted[mine] = ref
    if not adopted:
        return
    # Records are copied where they change, never edited: a rejected batch is retried row by
    # row from the same bundles.
    for kind in ("sources", "actors"):
        dataset[kind] = [r for r in dataset[kind] if r["ref"] not in adopted]
    dataset["documents"] = [
        {**document, "source": adopted[document["source"]]} if document["source"] in adopted else document
        for document in dataset["documents"]
    ]
    dataset["events"] = [
        {
            **event,
            "actors": [
                {**link, "actor": adopted.get(link["actor"], link["actor"])} for link in event["actors"]
            ],
        }
        if any(link["actor"] in adopted for link in event["actors"])
        else event
        for event in dataset["events"]
    ]


@dataclass
class _ParsedBatch:
    """Up to `batch_size` converted rows, ready to load: the parser process sends these."""

    results: list[RowResult]  # every record of the batch in file order, skipped ones too
    dataset: Dataset | None  # the bundles merged; None when every record was skipped
    bytes_read: int  # how far into the file the batch ends (for the progress bar)


def _parse_batches(counter: _CountingLines, batch_size: int) -> Iterator[_ParsedBatch]:
    """Group parse results into batches of `batch_size` importable rows (skips ride along)."""
    results: list[RowResult] = []
    bundles: list[RowResult] = []
    for result in parse_rows(counter):
        results.append(result)
        if result.bundle is not None:
            bundles.append(result)
            if len(bundles) >= batch_size:
                yield _ParsedBatch(results, _merge(bundles), counter.bytes_read)
                results, bundles = [], []
    yield _ParsedBatch(results, _merge(bundles) if bundles else None, counter.bytes_read)


class UcdpImportError(RuntimeError):
    """The import could not run to its end for a reason other than the file's format (the
    parser process failed or vanished); the batches committed before it stay."""


def parse_to_stream(path: str, batch_size: int, out: BinaryIO) -> None:
    """The parser process's work: the file as pickled messages on `out`.

    Messages are `("batch", _ParsedBatch)` …, then `("done", fallback_lines)`; or
    `("format", message)` / `("error", message)` when parsing fails. Writing blocks while the
    pipe is full, so the parser runs at most a batch or two ahead of the writer (flat memory);
    if the writer dies, the next write fails with a broken pipe and the parser exits too.
    """

    def send(message: tuple[str, Any]) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        with open(path, "rb") as raw:
            counter = _CountingLines(raw)
            for batch in _parse_batches(counter, batch_size):
                send(("batch", batch))
        send(("done", counter.fallback_lines))
    except UcdpFormatError as exc:
        send(("format", str(exc)))
    except BrokenPipeError:
        raise
    except Exception as exc:  # reported to the writer, which stops with a one-line error
        send(("error", f"{type(exc).__name__}: {exc}"))


class _ParserProcess:
    """Parses in a second process while this one writes: conversion (CSV, mapping, repairs)
    costs about as much CPU as loading, and the two overlap on separate cores.

    A plain subprocess (`python -m app.importers.parse_worker`) with pickles on its stdout,
    rather than multiprocessing: it needs no `__main__` guard in the caller's script, inherits
    no threads or database connections, and a dead peer shows as end-of-file or a broken pipe
    on either side instead of a hang.
    """

    def __init__(self, path: str, batch_size: int) -> None:
        self.path = path
        self.batch_size = batch_size
        self.fallback_lines: list[int] = []
        # The parser's stderr, kept for the error message should it die; closed in __exit__.
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        package_root = str(Path(__file__).resolve().parents[2])
        python_path = os.environ.get("PYTHONPATH")
        self.env = {
            **os.environ,
            "PYTHONPATH": package_root + (os.pathsep + python_path if python_path else ""),
        }

    def __enter__(self) -> _ParserProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.importers.parse_worker", self.path, str(self.batch_size)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=self.env,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()  # the writer stopped early (an error, a signal): so does the parser
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.process.wait()
        self.errors.close()

    def _failure(self) -> str:
        code = self.process.wait()
        self.errors.seek(0)
        lines = [line.strip() for line in self.errors.read().decode("utf-8", "replace").splitlines()]
        last = next((line for line in reversed(lines) if line), "")
        return f"the CSV parser process stopped unexpectedly (exit code {code})" + (
            f": {last}" if last else ""
        )

    def batches(self) -> Iterator[_ParsedBatch]:
        stream = self.process.stdout
        assert stream is not None
        while True:
            try:
                kind, payload = pickle.load(stream)
            except (EOFError, pickle.UnpicklingError):
                raise UcdpImportError(self._failure()) from None
            if kind == "batch":
                yield payload
            elif kind == "done":
                self.fallback_lines = list(payload)
                return
            elif kind == "format":
                raise UcdpFormatError(payload)
            else:
                raise UcdpImportError(f"the CSV parser failed: {payload}")


def import_ucdp_ged(
    path: str | PathLike[str],
    session_factory: Callable[[], AbstractContextManager[Session]],
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    *,
    parse_in_worker: bool = True,
) -> ImportSummary:
    """Import a GED CSV, committing every `batch_size` events in a transaction of its own.

    A killed run leaves whole batches only and a rerun completes it (upsert by stable refs).
    A batch the loader rejects is retried row by row so that only the bad rows are skipped.
    `progress(bytes_read)` is called after each committed batch; the total is the file size.
    With `parse_in_worker` the file is parsed in a second process while this one writes;
    a failure there raises UcdpFormatError or UcdpImportError here.
    """
    # Imported here so that parse_rows stays usable (and testable) without the database layer.
    from app.services.loader import load_dataset

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = os.fspath(path)
    os.stat(path)  # a missing file fails here, as it always did, not in the parser process
    summary = ImportSummary()
    adopted = summary.adopted

    # Sources and actors this run has committed, as committed. Every batch carries the ones its
    # rows cite (about 500 per 1,000 rows, nearly all of them seen before); sending each only
    # once per run saves a fifth of the loading. Counts then report each one once per run.
    committed: dict[str, Record] = {}

    def load(dataset: Dataset) -> None:
        dataset = dict(dataset)  # adoption replaces whole lists and the records it changes
        for kind in ("sources", "actors"):
            dataset[kind] = [r for r in dataset[kind] if committed.get(r["ref"]) != r]
        with session_factory() as session:
            _adopt_existing(session, dataset, adopted)
            report = load_dataset(session, dataset)
            session.commit()
        for kind in ("sources", "actors"):
            committed.update((record["ref"], record) for record in dataset[kind])
        summary.add_counts(report)

    def flush(batch: _ParsedBatch) -> None:
        for result in batch.results:
            summary.rows_read += 1
            summary.warnings.extend((result.line, message) for message in result.warnings)
            if result.bundle is None:
                summary.skipped.append((result.line, result.skip_reason or "skipped"))
        if batch.dataset is not None:
            try:
                load(batch.dataset)
            except DatasetError:
                for result in batch.results:
                    if result.bundle is None:
                        continue
                    try:
                        load(result.bundle.as_dataset())
                    except DatasetError as error:
                        summary.skipped.append((result.line, _describe(error)))
            summary.batches += 1
        if progress is not None:
            progress(batch.bytes_read)

    if parse_in_worker:
        with _ParserProcess(path, batch_size) as parser:
            for batch in parser.batches():
                flush(batch)
        fallback_lines = parser.fallback_lines
    else:
        with open(path, "rb") as raw:
            counter = _CountingLines(raw)
            for batch in _parse_batches(counter, batch_size):
                flush(batch)
        fallback_lines = counter.fallback_lines

    decoded = "line is not valid UTF-8; decoded as Windows-1252"
    summary.warnings.extend((number, decoded) for number in fallback_lines)
    summary.warnings.sort(key=lambda item: item[0])
    summary.skipped.sort(key=lambda item: item[0])
    summary.events_imported = sum(
        summary.counts.get("events", {}).get(k, 0) for k in ("created", "updated", "unchanged")
    )
    return summary
