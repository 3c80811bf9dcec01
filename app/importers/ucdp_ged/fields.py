"""Reading one GED row: cleaning and parsing single values, and the columns that together make
one event field (dates, coordinates, fatalities, cited articles, description).

Nothing here remembers anything between rows; the converter (`convert.py`) does that.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.core.text import fold

_WS = re.compile(r"\s+")
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][0-9:.+Z-]*)?\s*$")
_TRIPLET = re.compile(
    r"^\s*(?P<office>.*?)\s*,\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})\s*,(?P<headline>.*)$",
    re.S,
)


class SkipRow(Exception):
    """Raised while reading a row: the row cannot be imported (the message is the reason)."""


# --------------------------------------------------------------------------------------------
# Single values


def clean(value: str | None) -> str:
    """Collapse whitespace (GED text has tabs, newlines and double spaces)."""
    return _WS.sub(" ", value or "").strip()


def name_key(name: str) -> str:
    """The case-insensitive identity of a name, as the API compares names."""
    return fold(clean(name))


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut, so titles stay readable."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def parse_int(raw: str | None) -> int | None:
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


def parse_date(raw: str | None) -> date | None:
    """`2013-01-03`, also with a time part (`2013-01-03 00:00:00.000`): the date is kept."""
    match = _DATE.match(raw or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


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


def precision_from_span(start: date, end: date) -> str:
    """A date precision implied by the range, for rows whose `date_prec` is unusable."""
    days = (end - start).days
    if days == 0:
        return "day"
    if days <= 7:
        return "week"
    return "month" if days <= 31 else "year"


# --------------------------------------------------------------------------------------------
# Groups of columns


def read_dates(get: Callable[[str], str], warnings: list[str]) -> tuple[date, date]:
    """`date_start` and `date_end`: a missing end is the start; an unreadable or inverted range
    skips the row."""
    raw_start, raw_end = get("date_start").strip(), get("date_end").strip()
    start = parse_date(raw_start)
    if start is None:
        raise SkipRow(
            f"date_start {raw_start!r} is not a date" if raw_start else "date_start is missing",
        )
    if not raw_end:
        warnings.append("date_end is missing; set to date_start")
        return start, start
    end = parse_date(raw_end)
    if end is None:
        raise SkipRow(f"date_end {raw_end!r} is not a date")
    if end < start:
        raise SkipRow(f"date_end {end} is before date_start {start}")
    return start, end


def read_coordinates(get: Callable[[str], str], warnings: list[str]) -> tuple[float | None, float | None]:
    """Both coordinates or neither; an unreadable or out-of-range one skips the row."""
    raw_lat, raw_lon = get("latitude").strip(), get("longitude").strip()
    if not raw_lat and not raw_lon:
        return None, None
    if not raw_lat or not raw_lon:
        missing = "latitude" if not raw_lat else "longitude"
        raise SkipRow(f"{missing} is missing while the other coordinate is given")
    latitude, longitude = _parse_float(raw_lat), _parse_float(raw_lon)
    if latitude is None:
        raise SkipRow(f"latitude {raw_lat!r} is not a number")
    if longitude is None:
        raise SkipRow(f"longitude {raw_lon!r} is not a number")
    if not -90 <= latitude <= 90:
        raise SkipRow(f"latitude {raw_lat} is out of range -90..90")
    if not -180 <= longitude <= 180:
        raise SkipRow(f"longitude {raw_lon} is out of range -180..180")
    if latitude == 0 and longitude == 0:
        warnings.append("coordinates are 0,0 (possibly a placeholder); kept")
    return latitude, longitude


def read_fatalities(
    get: Callable[[str], str], warnings: list[str]
) -> tuple[int | None, int | None, int | None]:
    """`low`, `best`, `high`: unusable values are left empty, an inverted range is widened so that
    it holds every given value."""
    values: dict[str, int | None] = {}
    for column in ("low", "best", "high"):
        raw = get(column).strip()
        value = parse_int(raw)
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


@dataclass
class CitedArticle:
    """One cited article before it becomes a document."""

    office: str
    date_text: str
    headline: str
    article: str


def read_articles(get: Callable[[str], str], warnings: list[str]) -> list[CitedArticle]:
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
                CitedArticle(
                    "",
                    dates[0] if len(dates) == 1 and len(entries) == 1 else "",
                    headlines[0] if len(headlines) == 1 and len(entries) == 1 else "",
                    entry,
                )
                for entry in entries
            ]
        return [
            CitedArticle("", dates[i] if len(dates) == len(headlines) else "", headline, "")
            for i, headline in enumerate(headlines)
            if headline
        ]

    triplets = [_TRIPLET.match(entry) for entry in entries]
    if entries and all(triplets):
        items = [
            CitedArticle(m["office"], m["date"], m["headline"], entry)
            for m, entry in zip(triplets, entries, strict=True)
            if m
        ]
        if [name_key(i.office) for i in items] != [name_key(o) for o in offices]:
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
    return [CitedArticle(*parts) for parts in zip(offices, dates, headlines, articles, strict=True)]


def describe_event(event_id: int, get: Callable[[str], str]) -> str:
    """Context that has no field of its own, as readable text (searched by `q`)."""
    head = f"UCDP GED event {event_id}"
    if clean(get("relid")):
        head += f" ({clean(get('relid'))})"
    lines = [head + "."]
    if clean(get("conflict_name")):
        lines.append(f"Conflict: {clean(get('conflict_name'))}.")
    where = clean(get("where_description"))
    admin = ", ".join(filter(None, (clean(get("adm_1")), clean(get("adm_2")))))
    if where or admin:
        lines.append("Where: " + "; ".join(filter(None, (where, admin))) + ".")
    deaths = [
        (label, parse_int(get(column)))
        for label, column in (
            ("side A", "deaths_a"),
            ("side B", "deaths_b"),
            ("civilians", "deaths_civilians"),
            ("unknown", "deaths_unknown"),
        )
    ]
    if any(value is not None for _, value in deaths):
        lines.append(
            "Deaths: " + ", ".join(f"{label} {value}" for label, value in deaths if value is not None) + "."
        )
    if clean(get("source_original")):
        lines.append(f"Original source: {clean(get('source_original'))}.")
    if parse_int(get("event_clarity")) == 2:
        lines.append("Event clarity: low (UCDP event_clarity 2).")
    return "\n".join(lines)
