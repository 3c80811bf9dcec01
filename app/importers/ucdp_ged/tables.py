"""What the importer maps GED codes to, and the three tables shipped beside it.

`gw_countries.csv` (Gleditsch-Ward numbers and country names to ISO codes),
`source_grades.csv` (kinds and reliability grades of known offices) and `source_aliases.csv`
(spellings of one office) are package data of `app.importers`, read once per process; offices
missing from the grade table get a kind guessed from their name.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from app.core.enums import DatePrecision, EventType, GeoPrecision, Reliability, SourceKind
from app.importers.ucdp_ged.fields import clean, name_key, parse_int

REF_PREFIX = "ucdp-ged:"
TITLE_MAX = 300
EXCERPT_MAX = 4000
UNATTRIBUTED_SOURCE = "UCDP GED (unattributed)"
CITATION_CREDIBILITY = 6  # Admiralty "cannot be judged": the importer cannot grade each article

TYPE_OF_VIOLENCE = {
    1: EventType.armed_clash,
    2: EventType.armed_clash,
    3: EventType.violence_against_civilians,
}
DATE_PRECISION = {
    1: DatePrecision.day,
    2: DatePrecision.week,
    3: DatePrecision.week,
    4: DatePrecision.month,
    5: DatePrecision.year,
}
GEO_PRECISION = {
    1: GeoPrecision.exact,
    2: GeoPrecision.near,
    3: GeoPrecision.admin2,
    4: GeoPrecision.admin1,
    5: GeoPrecision.admin1,
    6: GeoPrecision.country,
    7: GeoPrecision.country,
}

REQUIRED_COLUMNS = ("id", "date_start", "type_of_violence", "side_a", "side_b")

SOURCE_KINDS = frozenset(kind.value for kind in SourceKind)
RELIABILITY_GRADES = frozenset(grade.value for grade in Reliability)


def _normalise_country(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return clean(text.replace("&", " and ").replace("\u2019", "'")).casefold().strip(" .")


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
            gwno = parse_int(row.get("gwno"))
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
        key = name_key(name)
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
            name = name_key(row.get("name") or "")
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
            entry = SourceGrade(kind, grade, country, clean(row.get("note")) or None)
            if match == "exact":
                exact[name] = entry
            else:
                prefixes.append((name, entry))
        return cls(exact=exact, prefixes=tuple(prefixes))


@dataclass(frozen=True)
class SourceAliases:
    """The editable table of spellings of one office (source_aliases.csv): each alias is
    imported as its source, and the source carries its aliases."""

    canonical: dict[str, str]  # name key of an alias -> the source's name
    aliases: dict[str, tuple[str, ...]]  # name key of a source -> its aliases, in table order

    def source_of(self, name: str) -> str:
        """The name `name` is imported under (itself when it is no alias)."""
        return self.canonical.get(name_key(name), name)

    def aliases_of(self, name: str) -> list[str]:
        return list(self.aliases.get(name_key(name), ()))

    @classmethod
    def parse(cls, text: str) -> SourceAliases:
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        canonical: dict[str, str] = {}
        aliases: dict[str, list[str]] = {}
        for number, row in enumerate(csv.DictReader(lines), start=2):
            alias, source = clean(row.get("alias")), clean(row.get("source"))
            if not alias or not source or name_key(alias) == name_key(source):
                raise ValueError(f"source_aliases.csv data row {number}: bad row {row!r}")
            if name_key(alias) in canonical:
                raise ValueError(f"source_aliases.csv data row {number}: {alias!r} is listed twice")
            canonical[name_key(alias)] = source
            aliases.setdefault(name_key(source), []).append(alias)
        for key in aliases:
            if key in canonical:
                raise ValueError(f"source_aliases.csv: {canonical[key]!r} is both an alias and a source")
        return cls(canonical=canonical, aliases={key: tuple(names) for key, names in aliases.items()})


def _package_text(name: str) -> str:
    """A data file of `app.importers`, where it always was (pyproject ships it as package data)."""
    return resources.files("app.importers").joinpath(name).read_text(encoding="utf-8")


@cache
def country_table() -> CountryTable:
    """The shipped G-W table (read once per process)."""
    return CountryTable.parse(_package_text("gw_countries.csv"))


@cache
def source_grades() -> SourceGrades:
    """The shipped grade table (read once per process)."""
    return SourceGrades.parse(_package_text("source_grades.csv"))


@cache
def source_aliases() -> SourceAliases:
    """The shipped alias table (read once per process)."""
    return SourceAliases.parse(_package_text("source_aliases.csv"))


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


def guess_source_kind(name: str) -> str:
    """Keyword guess for offices missing from the table; `other` when nothing fits."""
    for kind, pattern in _KIND_HINTS:
        if pattern.search(name):
            return kind
    return "other"
