"""A small dataset built to break aggregates: week edges, nulls, shared actors, odd units."""

from typing import Any

from tests.factories import actor, document, event, source, statement
from tests.factories import dataset as records


def dataset() -> dict[str, Any]:
    return records(
        source("s:a", "Agency A", "A", kind="news_agency"),
        source("s:d", "Outlet D", "D", kind="news_outlet"),
        document("d:a1", "s:a", "A one"),
        document("d:d1", "s:d", "D one"),
        actor("a:state", "Stateland", kind="state", country="BY"),
        actor("a:army", "Stateland Army", "a:state", kind="armed_force"),
        actor("a:rebels", "Rebels", kind="armed_group"),
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
        statement(
            "st:low",
            "a:state",
            "2025-03-01",
            "Few",
            event="e:sun",
            document="d:d1",
            kind="claim",
            measure="personnel",
            value_best=13000,
            unit="persons",
        ),
        statement(
            "st:high",
            "a:rebels",
            "2025-03-02",
            "Many",
            event="e:sun",
            kind="assessment",
            measure="personnel",
            value_low=100000,
            value_high=150000,
            unit="persons",
        ),
        statement(
            "st:other-unit",
            "a:rebels",
            "2025-03-02",
            "Brigades",
            event="e:sun",
            kind="assessment",
            measure="personnel",
            value_best=3,
            unit="brigades",
        ),
        statement(
            "st:overlap1",
            "a:state",
            "2025-03-04",
            "Ten to twenty",
            event="e:mon",
            kind="claim",
            measure="fatalities",
            value_low=10,
            value_high=20,
        ),
        statement(
            "st:overlap2",
            "a:rebels",
            "2025-03-05",
            "Twenty",
            event="e:mon",
            kind="claim",
            measure="fatalities",
            value_best=20,
        ),
    )
