// The explorer's page: reads the filters from the URL, asks the public API, and draws the
// count, map, timeline and list (or one event's page). Every change of a filter is a new URL.

import { apiUrl, getJson, pageUrl } from "./api.js";
import { showEvent } from "./event.js";
import { apiParams, emptyState, fillForm, fromQuery, pageQuery, problems, readForm } from "./filters.js";
import { CREDIBILITY, RELIABILITY, TYPES, el, number } from "./format.js";
import { EventList } from "./list.js";
import { EventMap, fetchOutlines, librariesLoaded } from "./map.js";
import { Timeline } from "./timeline.js";

performance.mark("explorer:start");
const $ = (id) => document.getElementById(id);
const form = $("filters");
let state = fromQuery(location.search);
let running = null; // the AbortController of the drawing under way

function buildControls() {
  $("f-types").append(...Object.entries(TYPES).map(([value, text]) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "type", value }), el("span", { class: `swatch type-${value}` }), text)));
  $("grade-grid").append(...Object.keys(RELIABILITY).map((r) =>
    el("tr", {}, el("th", { scope: "row", title: RELIABILITY[r] }, r), Object.keys(CREDIBILITY).map((c) =>
      el("td", {}, el("label", { class: `cell r-${r} c-${c}`, title: `${r}${c}: source ${RELIABILITY[r]} or better, information ${CREDIBILITY[c]} or better` },
        el("input", { type: "radio", name: "grade", value: `${r}${c}`, "aria-label": `${r}${c}` }), el("span", {}, `${r}${c}`)))))));
}

function eventHref(id) {
  return pageUrl(pageQuery({ ...state, event: id }));
}

function navigate(next, { replace = false } = {}) {
  state = next;
  const url = pageUrl(pageQuery(state));
  const here = location.pathname + location.search;
  if (replace || url === here || (url.endsWith("?") && url.slice(0, -1) === here)) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  draw();
}

function showProblem(message) {
  $("problem").textContent = message;
  $("problem").hidden = !message;
}

const timeline = new Timeline($("timeline"), $("legend"), (from, to) => {
  navigate({ ...readForm(form), date_from: from, date_to: to });
});
const list = new EventList($("events"), $("more"), eventHref, (id) => navigate({ ...state, event: id }));
const topology = fetchOutlines();
const mapReady = librariesLoaded().then(() => new EventMap($("map"), (id) => navigate({ ...state, event: id })));
const outlines = Promise.all([mapReady, topology]).then(([map, outline]) => map.showOutlines(outline));

async function drawOverview(signal) {
  const params = apiParams(state);
  for (const format of ["csv", "ndjson", "geojson"]) {
    const query = new URLSearchParams(params);
    if (state.sort) query.set("sort", state.sort);
    query.set("format", format);
    $(`dl-${format}`).href = apiUrl("/v1/events/export", query);
  }
  const series = new URLSearchParams(params);
  series.set("interval", state.interval);
  series.set("group_by", "type");
  const geo = new URLSearchParams(params);
  geo.set("format", "geojson");
  const [buckets, collection, firstPage] = await Promise.all([
    getJson("/v1/events/timeline", series, signal),
    getJson("/v1/events/export", geo, signal),
    list.fetchFirst(params, state.sort, signal),
  ]);
  performance.mark("explorer:data");
  const eventMap = await mapReady;
  performance.mark("explorer:leaflet");
  if (signal.aborted) return;
  const total = timeline.show(buckets.buckets, state.interval, $("t-measure").value);
  performance.mark("explorer:timeline");
  const mapped = eventMap.show(collection);
  performance.mark("explorer:map");
  const shown = list.show(firstPage);
  performance.mark("explorer:list");
  $("count").replaceChildren(el("strong", { id: "total", "data-count": total }, number(total)),
    ` event${total === 1 ? "" : "s"} match`, shown < total ? ` · the list shows them ${shown} at a time` : "");
  $("map-count").textContent = `${number(mapped)} with coordinates`;
  $("map-count").dataset.count = String(mapped);
}

async function draw() {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  document.body.dataset.ready = "";
  fillForm(form, state);
  const problem = problems(state);
  showProblem(problem ?? "");
  const onEvent = state.event !== null;
  $("overview").hidden = onEvent;
  $("event").hidden = !onEvent;
  try {
    if (problem) {
      // nothing to ask the API: the message says what to fix
    } else if (onEvent) {
      const event = await showEvent($("event"), state.event, pageUrl(pageQuery(state, { withEvent: false })),
        () => navigate({ ...state, event: null }), controller.signal);
      document.title = `${event.title} · Explorer`;
    } else {
      document.title = "Explorer · Conflict Events API";
      mapReady.then((map) => map.refresh());
      await drawOverview(controller.signal);
    }
  } catch (error) {
    if (error.name === "AbortError") return;
    showProblem(error.message);
  }
  await outlines.catch(() => showProblem("The country outlines could not be loaded"));
  if (running === controller) {
    // only the latest drawing says it is done: an older one may finish after a newer began
    document.body.dataset.ready = "true";
    window.explorerReadyAt ??= performance.now();
  }
}

let suggestTimer = 0;
let suggestions = 0; // counts requests for suggestions; applying the filter counts one too
function dropSuggestions() {
  // Applied with Enter or Apply: suggestions still due would open the list over the page.
  clearTimeout(suggestTimer);
  suggestions += 1;
}
async function suggestActors() {
  const q = form.elements.actor.value.trim();
  if (q.length < 2) return;
  const asked = ++suggestions;
  const page = await getJson("/v1/actors", new URLSearchParams({ q, limit: "12" }));
  if (asked !== suggestions) return; // typed on, or applied, meanwhile
  $("actor-options").replaceChildren(...page.items.map((actor) =>
    el("option", { value: actor.name }, [actor.kind.replaceAll("_", " "), actor.country].filter(Boolean).join(", "))));
  $("actor-hint").textContent = page.items.length ? `${page.items.length}${page.next_cursor ? "+" : ""} actors match` : "No actor matches";
}

buildControls();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  dropSuggestions();
  navigate({ ...readForm(form), event: null });
});
form.addEventListener("change", (e) => {
  if (e.target.name === "actor") return; // applied with Enter or Apply, once it is complete
  navigate({ ...readForm(form), event: null });
});
form.elements.actor.addEventListener("input", (e) => {
  clearTimeout(suggestTimer);
  if (e.inputType === "insertReplacementText" || e.inputType === undefined) {
    dropSuggestions();
    navigate({ ...readForm(form), event: null }); // picked from the suggestions
    return;
  }
  suggestTimer = setTimeout(() => suggestActors().catch((error) => { $("actor-hint").textContent = error.message; }), 200);
});
$("reset").addEventListener("click", () => navigate(emptyState()));
$("t-measure").addEventListener("change", () => draw());
$("t-interval").addEventListener("change", () => navigate({ ...readForm(form), event: null }));
window.addEventListener("popstate", () => {
  state = fromQuery(location.search);
  draw();
});
draw();
