// One event: what it is, its actors and citations, its claims side by side (grouped by
// measure and unit, marked contested when two ranges do not overlap) and its statements.

import { getJson } from "./api.js";
import { TYPES, dates, el, figure, grade } from "./format.js";
import { citation } from "./list.js";

const ROLES = { side_a: "side A", side_b: "side B", participant: "participant", supporter: "supporter", host: "host" };

async function allStatements(eventId, signal) {
  const items = [];
  const params = new URLSearchParams({ event_id: String(eventId), limit: "500", sort: "stated_on" });
  for (;;) {
    const page = await getJson("/v1/statements", params, signal);
    items.push(...page.items);
    if (!page.next_cursor) return items;
    params.set("cursor", page.next_cursor);
  }
}

async function documents(ids, signal) {
  const unique = [...new Set(ids.filter((id) => id !== null))];
  const found = await Promise.all(unique.map((id) => getJson(`/v1/documents/${id}`, null, signal)));
  return new Map(found.map((d) => [d.id, d]));
}

function claimCard(claim, outlet) {
  return el("li", { class: "claim" },
    el("p", { class: "value" }, figure(claim.value_low, claim.value_best, claim.value_high)),
    el("dl", {},
      el("dt", {}, "Speaker"), el("dd", {}, claim.speaker.name),
      el("dt", {}, "Outlet"), el("dd", {}, outlet ?? claim.source?.name ?? "not recorded"),
      el("dt", {}, "Grade"), el("dd", {}, grade(claim.reliability, claim.credibility)),
      el("dt", {}, "Stated"), el("dd", {}, el("time", { datetime: claim.stated_on }, claim.stated_on))));
}

function measureSection(group, outlets) {
  const unit = group.unit ? ` (${group.unit})` : "";
  const mark = group.contested
    ? el("p", { class: "contested" }, el("span", { "aria-hidden": "true" }, "⚠ "), el("strong", {}, "Contested"),
      ": the claimed ranges do not overlap")
    : el("p", { class: "agreed" }, el("span", { "aria-hidden": "true" }, "✓ "), "The claims overlap");
  return el("section", { class: "measure", "data-measure": group.measure },
    el("h3", {}, el("span", { class: "name" }, group.measure), unit, " ", el("small", {}, `${figure(group.low, null, group.high)} across ${group.claims.length} claims`)),
    mark,
    el("ol", { class: "claims" }, group.claims.map((claim) => claimCard(claim, outlets.get(claim.statement_id)))));
}

function statementItem(statement, docs) {
  const doc = docs.get(statement.document_id);
  const text = statement.is_quote ? el("q", {}, statement.text) : el("span", {}, statement.text);
  const mentions = statement.mentions.length
    ? el("p", { class: "meta" }, "About: ", statement.mentions.map((m) => m.name).join(", ")) : null;
  return el("li", { class: "statement" },
    el("p", { class: "meta" }, el("time", { datetime: statement.stated_on }, statement.stated_on), " · ",
      el("strong", {}, statement.speaker.name), ` · ${statement.kind} · `,
      grade(statement.reliability, statement.credibility),
      doc ? [" · ", doc.url ? el("a", { href: doc.url, rel: "noopener noreferrer" }, doc.source.name) : doc.source.name] : null),
    el("p", {}, text), mentions);
}

export async function showEvent(container, eventId, backHref, goBack, signal) {
  const [event, claims, statements] = await Promise.all([
    getJson(`/v1/events/${eventId}`, null, signal),
    getJson(`/v1/events/${eventId}/claims`, null, signal),
    allStatements(eventId, signal),
  ]);
  const docs = await documents([...event.citations.map((c) => c.document_id), ...statements.map((s) => s.document_id)], signal);
  const outlets = new Map(statements.map((s) => [s.id, docs.get(s.document_id)?.source.name]));
  const back = el("a", { href: backHref, class: "back" }, "← Back to the list");
  back.addEventListener("click", (e) => {
    e.preventDefault();
    goBack();
  });
  const where = [event.location, event.admin1, event.country].filter(Boolean).join(", ");
  const contested = claims.measures.some((m) => m.contested);
  const fatalities = figure(event.fatalities_low, event.fatalities_best, event.fatalities_high);
  container.replaceChildren(
    back,
    el("h2", { id: "event-title", tabindex: "-1" }, event.title, contested ? el("span", { class: "badge contested-badge" }, "Contested") : null),
    el("p", { class: "meta" }, dates(event.start_date, event.end_date), ` (${event.date_precision})`, " · ",
      el("span", { class: `type type-${event.type}` }, TYPES[event.type] ?? event.type),
      where ? ` · ${where}` : "", fatalities !== "—" ? ` · fatalities ${fatalities}` : "",
      event.best_reliability ? [` · best source grade `, el("strong", {}, event.best_reliability)] : ""),
    event.description ? el("p", { class: "description" }, event.description) : null,
    el("h3", {}, "Actors"),
    el("ul", { class: "actors" }, event.actors.map((a) => el("li", {}, a.name, el("small", {}, ` ${ROLES[a.role] ?? a.role}`)))),
    el("section", { class: "claims-section", "aria-labelledby": "claims-title" },
      el("h3", { id: "claims-title" }, "Claims"),
      claims.measures.length ? claims.measures.map((g) => measureSection(g, outlets)) : el("p", { class: "empty" }, "No quantitative claims.")),
    el("h3", {}, `Statements (${statements.length})`),
    statements.length ? el("ol", { class: "statements" }, statements.map((s) => statementItem(s, docs))) : el("p", { class: "empty" }, "No statements."),
    el("h3", {}, `Citations (${event.citations.length})`),
    el("ul", { class: "citations" }, event.citations.map((c) => {
      const item = citation(c);
      const doc = docs.get(c.document_id);
      if (doc) item.append(el("span", { class: "doc" }, `${doc.title}${doc.published_on ? `, ${doc.published_on}` : ""}`));
      return item;
    })),
  );
  container.querySelector("#event-title").focus();
  return event;
}
