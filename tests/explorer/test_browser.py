"""The explorer in a real browser: Debian's headless Chromium driven by Playwright, against the
real service in a subprocess, on the demo data and on the UCDP GED sample (SQLite), and on the
demo data on PostgreSQL when TEST_DATABASE_URL is set.

What the page shows is compared with what the API answers for the same filters; every test
also fails on a console error, an uncaught exception or a Content-Security-Policy violation.
With BROWSER_TESTS=required (as .ci/run sets it) a skip here fails the run (tests/conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.factories import UCDP_SAMPLE
from tests.servers import free_port, serve

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
except ImportError:  # the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None, reason="no browser: playwright is not installed (pip install -e '.[dev]')"
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no browser: no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)",
    ),
]
# Records what the page violates or throws; installed before any of the page's own scripts.
WATCH = """
window.__problems = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__problems.push(`CSP ${e.violatedDirective} blocked ${e.blockedURI}`));
"""
READY = "body[data-ready=true]"  # a selector: wait_for_function would eval, which the policy refuses


@dataclass
class Site:
    """A running service and what it holds."""

    url: str
    dataset: str

    def get(self, path: str, **query: str | list[str]) -> bytes:
        address = f"{self.url}{path}?{urlencode(query, doseq=True)}"
        with urllib.request.urlopen(address, timeout=30) as answer:
            body: bytes = answer.read()
            return body

    def json(self, path: str, **query: str | list[str]) -> dict[str, object]:
        answer: dict[str, object] = json.loads(self.get(path, **query))
        return answer

    def count(self, query: str) -> int:
        """Events matching `query` (a page query string), by the NDJSON export."""
        params = parse_qs(query)
        return len(self.get("/v1/events/export", format="ndjson", **params).splitlines())

    def mapped(self, query: str) -> int:
        collection = json.loads(self.get("/v1/events/export", format="geojson", **parse_qs(query)))
        return len(collection["features"])

    def first_ids(self, query: str) -> list[int]:
        page = self.json("/v1/events", limit="25", **parse_qs(query))
        return [int(item["id"]) for item in page["items"]]  # type: ignore[attr-defined]


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)
    allowed: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        found = [*self.errors, *(self.page.evaluate("window.__problems") or [])]
        return [p for p in found if not any(allowed in p for allowed in self.allowed)]


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, check=True, capture_output=True)


@pytest.fixture(scope="module", params=["demo-sqlite", "ucdp-sqlite", "demo-postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    name = str(request.param)
    dataset, backend = name.split("-")
    database = None
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
        database = f"explorer_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        url = sa.make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'explorer.db'}"
    env = {**os.environ, "DATABASE_URL": url, "RATE_LIMIT_PER_MINUTE": "0", "AUTH_FAILURES_PER_MINUTE": "0"}
    _cli(env, "db", "upgrade")
    if dataset == "demo":
        _cli(env, "demo")
    else:
        _cli(env, "import", "ucdp-ged", str(UCDP_SAMPLE))
    port = free_port()
    server = serve(env, port)
    try:
        yield Site(f"http://127.0.0.1:{port}", dataset)
    finally:
        server.terminate()
        server.wait(10)
        if database:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.add_init_script(WATCH)
    seen = Watched(page)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            seen.errors.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    yield seen
    try:
        assert seen.problems() == []
    finally:
        context.close()


def open_explorer(site: Site, page: Page, query: str = "") -> None:
    page.goto(f"{site.url}/explore" + (f"?{query}" if query else ""))
    page.wait_for_selector(READY, state="attached")


def shown(page: Page) -> tuple[int, int, list[int]]:
    """The page's count, its map's count and the ids in its list."""
    total = int(page.get_attribute("#total", "data-count") or -1)
    mapped = int(page.get_attribute("#map-count", "data-count") or -1)
    ids = [int(i) for i in page.eval_on_selector_all("#events > li", "rows => rows.map(r => r.dataset.id)")]
    markers = page.evaluate(
        "[...document.querySelectorAll('.marker-cluster span')]"
        ".reduce((n, s) => n + Number(s.textContent), 0) + document.querySelectorAll('.pin').length"
    )
    assert markers == mapped  # what the map draws (clusters and single pins) is what it says
    return total, mapped, ids


def page_query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def queries(site: Site) -> list[str]:
    """Filters worth comparing on each data set: every family, and a few combined."""
    if site.dataset == "demo":
        return [
            "",
            "type=defection&type=diplomatic",
            "actor=Belarus",
            "actor=Belarus&include_descendants=false",
            "min_reliability=B&min_credibility=2",
            "contested=true",
            "date_from=2022-02-01&date_to=2022-03-31&country=UA",
            "min_sources=2&sort=start_date",
        ]
    return [
        "",
        "country=SY",
        "type=violence_against_civilians",
        "min_reliability=C",
        "date_from=2015-01-01&date_to=2016-12-31&sort=-fatalities_best",
        "actor=Government+of+Syria&min_credibility=6",
    ]


def test_the_counts_on_the_page_equal_the_apis(site: Site, watched: Watched) -> None:
    for query in queries(site):
        open_explorer(site, watched.page, query)
        total, mapped, ids = shown(watched.page)
        assert total == site.count(query), query
        assert mapped == site.mapped(query), query
        assert ids == site.first_ids(query), query
        assert watched.page.is_visible("#more") == (total > len(ids)), query


def test_the_list_pages_on_with_the_cursor(site: Site, watched: Watched) -> None:
    query = "" if site.dataset == "ucdp" else "sort=start_date"
    open_explorer(site, watched.page, query)
    total, _, _ = shown(watched.page)
    clicks = 0
    while watched.page.is_visible("#more") and clicks < 3:
        watched.page.click("#more")
        watched.page.wait_for_selector("#more:not([disabled])", state="attached")
        clicks += 1
    ids = shown(watched.page)[2]
    assert len(ids) == min(total, 25 * (clicks + 1))
    every = [
        json.loads(line)["id"]
        for line in site.get("/v1/events/export", format="ndjson", **parse_qs(query)).splitlines()
    ]
    assert ids == every[: len(ids)]


def test_the_reliability_picker_changes_the_list_and_the_map(site: Site, watched: Watched) -> None:
    page = watched.page
    open_explorer(site, page)
    before = shown(page)
    grade = "B2" if site.dataset == "demo" else "C6"
    page.get_by_label(grade, exact=True).check()
    page.wait_for_selector(READY, state="attached")
    query = f"min_reliability={grade[0]}&min_credibility={grade[1]}"
    assert page_query(page) == parse_qs(query)
    after = shown(page)
    assert after[0] == site.count(query) < before[0]
    assert after[1] == site.mapped(query) < before[1]
    assert after[2] == site.first_ids(query) != before[2]
    # the keyboard moves the pick: the next cell of the grid, then one row down
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(READY, state="attached")
    moved = f"{grade[0]}{int(grade[1]) % 6 + 1}" if grade[1] != "6" else f"{chr(ord(grade[0]) + 1)}1"
    assert page_query(page) == {"min_reliability": [moved[0]], "min_credibility": [moved[1]]}
    assert shown(page)[0] == site.count(f"min_reliability={moved[0]}&min_credibility={moved[1]}")
    page.click("#grade-any")
    page.wait_for_selector(READY, state="attached")
    assert page_query(page) == {}
    assert shown(page) == before


def test_the_zapad_event_page_shows_both_claims_and_the_contested_mark(site: Site, watched: Watched) -> None:
    if site.dataset != "demo":
        pytest.skip("the Zapad-2025 event is in the demo data only")
    page = watched.page
    open_explorer(site, page, "actor=Belarus")
    page.get_by_role("link", name="Zapad-2025 joint Belarusian-Russian military exercise").click()
    page.wait_for_selector(READY, state="attached")
    event_id = int(page_query(page)["event"][0])
    assert page_query(page)["actor"] == ["Belarus"]  # the filters stay in the URL
    claims = site.json(f"/v1/events/{event_id}/claims")["measures"]
    assert isinstance(claims, list) and claims[0]["contested"] is True
    personnel = page.locator(".measure[data-measure=personnel]")
    assert "Contested" in personnel.locator(".contested").inner_text()
    assert "Contested" in page.inner_text("#event-title")
    cards = personnel.locator(".claim").all_inner_texts()
    assert len(cards) == 2
    belarus, latvia = cards
    for text in ("13,000", "Belarusian Ministry of Defence", "D4", "2025-08-12"):
        assert text in belarus
    for text in ("100,000–150,000", "Latvian Ministry of Defence", "C3", "2025-08-14"):
        assert text in latvia
    statements = site.json("/v1/statements", event_id=str(event_id), limit="500")["items"]
    assert isinstance(statements, list)
    assert page.locator(".statement").count() == len(statements) == 5
    page.go_back()
    page.wait_for_selector(READY, state="attached")
    assert page_query(page) == {"actor": ["Belarus"]}
    assert shown(page)[0] == site.count("actor=Belarus")


def test_actor_suggestions_come_while_typing_and_stop_once_applied(site: Site, watched: Watched) -> None:
    """Suggestions arrive 200 ms after the last keystroke. An actor applied with Enter before
    then gets none: a list that opened over the page after the filter was applied took the
    next click meant for the page."""
    page = watched.page
    open_explorer(site, page)
    actor = "Belarus" if site.dataset == "demo" else "Government of Syria"
    options = page.locator("#actor-options option")
    page.fill("#f-actor", actor)
    page.press("#f-actor", "Enter")
    page.wait_for_selector(READY, state="attached")
    page.wait_for_timeout(700)  # past the 200 ms delay and a local request
    assert options.count() == 0
    assert page_query(page)["actor"] == [actor]
    page.fill("#f-actor", actor[:-1])
    page.wait_for_selector("#actor-options option", state="attached")
    assert actor in [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "match" in (page.text_content("#actor-hint") or "")


def test_the_url_round_trips_the_filters(site: Site, watched: Watched) -> None:
    page = watched.page
    open_explorer(site, page)
    actor, kind, country, day = (
        ("Belarus", "defection", "BY", "2022-02-01")
        if site.dataset == "demo"
        else ("Government of Syria", "armed_clash", "SY", "2014-01-01")
    )
    page.fill("#f-actor", actor)
    page.press("#f-actor", "Enter")
    page.wait_for_selector(READY, state="attached")
    page.uncheck("#f-descendants")
    page.wait_for_selector(READY, state="attached")
    page.check(f"input[name=type][value={kind}]")
    page.wait_for_selector(READY, state="attached")
    page.fill("#f-from", day)
    page.wait_for_selector(READY, state="attached")
    page.fill("#f-country", country.lower())
    page.press("#f-country", "Enter")
    page.wait_for_selector(READY, state="attached")
    page.fill("#f-sources", "1")
    page.press("#f-sources", "Enter")
    page.wait_for_selector(READY, state="attached")
    page.select_option("#t-interval", "year")
    page.wait_for_selector(READY, state="attached")
    expected = {
        "actor": [actor],
        "include_descendants": ["false"],
        "type": [kind],
        "date_from": [day],
        "country": [country],
        "min_sources": ["1"],
        "interval": ["year"],
    }
    assert page_query(page) == expected
    filtered = shown(page)
    api_query = urlencode({k: v for k, v in expected.items() if k != "interval"}, doseq=True)
    assert filtered[0] == site.count(api_query)
    page.reload()
    page.wait_for_selector(READY, state="attached")
    assert page_query(page) == expected
    assert shown(page) == filtered
    assert page.input_value("#f-actor") == actor
    assert not page.is_checked("#f-descendants")
    assert page.is_checked(f"input[name=type][value={kind}]")
    assert page.input_value("#f-from") == day
    assert page.input_value("#f-country") == country
    assert page.input_value("#f-sources") == "1"
    assert page.input_value("#t-interval") == "year"
    page.go_back()  # before the interval changed
    page.wait_for_selector(READY, state="attached")
    assert page_query(page) == {k: v for k, v in expected.items() if k != "interval"}
    assert page.input_value("#t-interval") == "month"
    page.click("#reset")
    page.wait_for_selector(READY, state="attached")
    assert page_query(page) == {}
    assert page.input_value("#f-actor") == ""


def test_brushing_the_timeline_sets_the_date_range(site: Site, watched: Watched) -> None:
    page = watched.page
    open_explorer(site, page, "interval=year")
    box = page.locator("#timeline svg").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.35, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_selector(READY, state="attached")
    query = page_query(page)
    date_from, date_to = query["date_from"][0], query["date_to"][0]
    assert date_from.endswith("-01-01") and date_to.endswith("-12-31") and date_from < date_to
    assert page.input_value("#f-from") == date_from
    assert page.input_value("#f-to") == date_to
    assert shown(page)[0] == site.count(f"date_from={date_from}&date_to={date_to}")


def test_the_downloads_are_the_current_filter(site: Site, watched: Watched) -> None:
    query = "type=defection&type=diplomatic" if site.dataset == "demo" else "country=AF"
    open_explorer(site, watched.page, query)
    total = shown(watched.page)[0]
    for kind in ("csv", "ndjson", "geojson"):
        href = watched.page.get_attribute(f"#dl-{kind}", "href")
        assert href is not None
        assert parse_qs(urlsplit(href).query) == {**parse_qs(query), "format": [kind]}
        with urllib.request.urlopen(site.url + href, timeout=30) as answer:
            body = answer.read().decode()
        if kind == "csv":
            rows = len(list(csv.reader(io.StringIO(body)))) - 1
        elif kind == "ndjson":
            rows = len(body.splitlines())
        else:
            rows = len(json.loads(body)["features"])
        assert rows == (site.mapped(query) if kind == "geojson" else total)


def test_a_refused_filter_is_shown_in_the_page(site: Site, watched: Watched) -> None:
    watched.allowed = ("status of 422",)  # the browser logs the API's refusal itself
    page = watched.page
    open_explorer(site, page, "actor=Nobody+Such")
    assert page.is_visible("#problem")
    assert "Nobody Such" in page.inner_text("#problem")
    open_explorer(site, page, "country=BYE")
    assert "BYE" in page.inner_text("#problem")


def test_every_control_has_a_label(site: Site, watched: Watched) -> None:
    open_explorer(site, watched.page)
    unnamed = watched.page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, button, a[href]')]
        .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()
            || e.getAttribute('title')))
        .map((e) => e.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    # the filters are reachable with the keyboard, in order
    watched.page.focus("#f-actor")
    watched.page.keyboard.press("Tab")
    assert watched.page.evaluate("document.activeElement.id") == "f-descendants"


def test_the_first_render_of_the_demo_takes_under_a_second(
    site: Site, browser: Browser, record_property: Callable[[str, object], None]
) -> None:
    if site.dataset != "demo":
        pytest.skip("the budget is for the demo data")
    timings = []
    for _ in range(5):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})  # a cold cache
        page = context.new_page()
        open_explorer(site, page)
        timings.append(float(page.evaluate("window.explorerReadyAt")))
        context.close()
    record_property("first_render_ms", timings)
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"first render of the demo, ms: {[round(t) for t in timings]} (load per core {busy:.1f})")
    # The best of five, since one slow load says more about a neighbour than about the page. The
    # budget is for a machine at rest: with other work on every core the browser gets a fraction
    # of one, and only a gross regression is caught.
    assert min(timings) < (1000 if busy < 1 else 3000), timings
