// The filters: one state, kept in the page URL (so a view can be shared and reloaded), shown
// in the form, and sent to the API under the API's own parameter names.

const SINGLE = ["actor", "include_descendants", "date_from", "date_to", "min_reliability",
  "min_credibility", "min_sources", "contested", "sort"];
const MULTI = ["type", "country"];
const INTERVALS = ["day", "week", "month", "year"];

export function emptyState() {
  return {
    actor: "", include_descendants: true, date_from: "", date_to: "", type: [], country: [],
    min_reliability: "", min_credibility: "", min_sources: "", contested: false, sort: "",
    interval: "month", event: null,
  };
}

export function fromQuery(search) {
  const query = new URLSearchParams(search);
  const state = emptyState();
  for (const name of SINGLE) {
    if (query.has(name)) state[name] = query.get(name).trim();
  }
  state.include_descendants = query.get("include_descendants") !== "false";
  state.contested = query.get("contested") === "true";
  for (const name of MULTI) {
    state[name] = query.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  }
  state.country = state.country.map((c) => c.toUpperCase());
  state.min_reliability = state.min_reliability.toUpperCase();
  if (INTERVALS.includes(query.get("interval"))) state.interval = query.get("interval");
  const event = Number.parseInt(query.get("event") ?? "", 10);
  state.event = Number.isInteger(event) && event > 0 ? event : null;
  return state;
}

// The API's filter parameters for `state` (what the list, export, timeline and facets take).
export function apiParams(state) {
  const params = new URLSearchParams();
  if (state.actor) {
    params.append("actor", state.actor);
    if (!state.include_descendants) params.append("include_descendants", "false");
  }
  for (const name of ["date_from", "date_to", "min_reliability", "min_credibility", "min_sources"]) {
    if (state[name]) params.append(name, state[name]);
  }
  for (const value of state.type) params.append("type", value);
  for (const value of state.country) params.append("country", value);
  if (state.contested) params.append("contested", "true");
  return params;
}

// The page's own URL query: the filters, then what only the page has (sort, interval, event).
export function pageQuery(state, { withEvent = true } = {}) {
  const params = apiParams(state);
  if (state.sort) params.append("sort", state.sort);
  if (state.interval !== "month") params.append("interval", state.interval);
  if (withEvent && state.event) params.append("event", String(state.event));
  return params;
}

// What is wrong with the filters before asking the API, or null.
export function problems(state) {
  const bad = state.country.filter((c) => !/^[A-Z]{2}$/.test(c));
  if (bad.length) return `Country codes are two letters (ISO 3166-1 alpha-2): ${bad.join(", ")}`;
  if (state.min_sources && !/^[1-9][0-9]*$/.test(state.min_sources)) {
    return "Minimum distinct sources is a whole number from 1";
  }
  if (state.date_from && state.date_to && state.date_from > state.date_to) {
    return "The start of the date range lies after its end";
  }
  return null;
}

export function fillForm(form, state) {
  form.elements.actor.value = state.actor;
  form.elements.include_descendants.checked = state.include_descendants;
  form.elements.date_from.value = state.date_from;
  form.elements.date_to.value = state.date_to;
  for (const box of form.querySelectorAll("input[name=type]")) box.checked = state.type.includes(box.value);
  form.elements.country.value = state.country.join(", ");
  const picked = state.min_reliability || state.min_credibility
    ? `${state.min_reliability || "F"}${state.min_credibility || "6"}` : "";
  for (const radio of form.querySelectorAll("input[name=grade]")) radio.checked = radio.value === picked;
  form.elements.min_reliability.value = state.min_reliability;
  form.elements.min_credibility.value = state.min_credibility;
  form.elements.min_sources.value = state.min_sources;
  form.elements.contested.checked = state.contested;
  form.elements.sort.value = state.sort;
  form.elements.interval.value = state.interval;
}

export function readForm(form) {
  const state = emptyState();
  state.actor = form.elements.actor.value.trim();
  state.include_descendants = form.elements.include_descendants.checked;
  state.date_from = form.elements.date_from.value;
  state.date_to = form.elements.date_to.value;
  state.type = [...form.querySelectorAll("input[name=type]:checked")].map((box) => box.value);
  state.country = form.elements.country.value.split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
  const picked = form.querySelector("input[name=grade]:checked")?.value ?? "";
  state.min_reliability = picked ? picked[0] : "";
  state.min_credibility = picked ? picked[1] : "";
  state.min_sources = form.elements.min_sources.value.trim();
  state.contested = form.elements.contested.checked;
  state.sort = form.elements.sort.value;
  state.interval = form.elements.interval.value;
  return state;
}
