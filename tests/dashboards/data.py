"""A small dataset built to break aggregates: week edges, nulls, shared actors, odd units."""

from typing import Any


def event(ref: str, start: str, end: str | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"ref": ref, "title": f"Event {ref}", "type": "armed_clash", "start_date": start}
    if end:
        record["end_date"] = end
    record.update(extra)
    return record


def dataset() -> dict[str, Any]:
    return {
        "sources": [
            {"ref": "s:a", "name": "Agency A", "kind": "news_agency", "reliability": "A"},
            {"ref": "s:d", "name": "Outlet D", "kind": "news_outlet", "reliability": "D"},
        ],
        "documents": [
            {"ref": "d:a1", "source": "s:a", "title": "A one"},
            {"ref": "d:d1", "source": "s:d", "title": "D one"},
        ],
        "actors": [
            {"ref": "a:state", "name": "Stateland", "kind": "state", "country": "BY"},
            {"ref": "a:army", "name": "Stateland Army", "kind": "armed_force", "parent": "a:state"},
            {"ref": "a:rebels", "name": "Rebels", "kind": "armed_group"},
        ],
        "events": [
            # Sunday 2025-03-02 and Monday 2025-03-03 fall in different weeks.
            event(
                "e:sun",
                "2025-03-02",
                type="armed_clash",
                country="BY",
                latitude=53.9,
                longitude=27.56,
                fatalities_low=1,
                fatalities_best=2,
                fatalities_high=3,
                actors=[{"actor": "a:army", "role": "side_a"}, {"actor": "a:rebels", "role": "side_b"}],
                citations=[{"document": "d:a1", "credibility": 2}],
            ),
            event(
                "e:mon",
                "2025-03-03",
                type="armed_clash",
                country="UA",
                fatalities_best=5,
                actors=[{"actor": "a:army", "role": "side_a"}, {"actor": "a:army", "role": "participant"}],
                citations=[{"document": "d:a1", "credibility": 1}, {"document": "d:d1", "credibility": 1}],
            ),
            # A gap month (April) between March and May.
            event(
                "e:may",
                "2025-05-31",
                "2025-06-02",
                type="protest",
                actors=[{"actor": "a:rebels", "role": "participant"}],
            ),
            event("e:noactor", "2025-05-01", type="riot", country="BY", latitude=-10.5, longitude=-70.25),
        ],
        "statements": [
            {
                "ref": "st:low",
                "speaker": "a:state",
                "event": "e:sun",
                "document": "d:d1",
                "stated_on": "2025-03-01",
                "kind": "claim",
                "text": "Few",
                "measure": "personnel",
                "value_best": 13000,
                "unit": "persons",
            },
            {
                "ref": "st:high",
                "speaker": "a:rebels",
                "event": "e:sun",
                "stated_on": "2025-03-02",
                "kind": "assessment",
                "text": "Many",
                "measure": "personnel",
                "value_low": 100000,
                "value_high": 150000,
                "unit": "persons",
            },
            {
                "ref": "st:other-unit",
                "speaker": "a:rebels",
                "event": "e:sun",
                "stated_on": "2025-03-02",
                "kind": "assessment",
                "text": "Brigades",
                "measure": "personnel",
                "value_best": 3,
                "unit": "brigades",
            },
            {
                "ref": "st:overlap1",
                "speaker": "a:state",
                "event": "e:mon",
                "stated_on": "2025-03-04",
                "kind": "claim",
                "text": "Ten to twenty",
                "measure": "fatalities",
                "value_low": 10,
                "value_high": 20,
            },
            {
                "ref": "st:overlap2",
                "speaker": "a:rebels",
                "event": "e:mon",
                "stated_on": "2025-03-05",
                "kind": "claim",
                "text": "Twenty",
                "measure": "fatalities",
                "value_best": 20,
            },
        ],
    }
