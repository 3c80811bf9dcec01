// The list of matching events, a keyset page at a time (`next_cursor`), each with its
// citations, their grades as text and links to the documents.

import { apiUrl, getJson } from "./api.js";
import { TYPES, dates, el, figure, grade } from "./format.js";

export const PAGE_SIZE = 25;

export function citation(c) {
  const href = c.url || apiUrl(`/v1/documents/${c.document_id}`);
  return el("li", { class: "citation" }, grade(c.reliability, c.credibility), " ",
    el("a", { href, rel: c.url ? "noopener noreferrer" : null }, c.source_name),
    c.excerpt ? el("q", {}, c.excerpt) : null);
}

export class EventList {
  constructor(list, more, eventHref, openEvent) {
    this.list = list;
    this.more = more;
    this.eventHref = eventHref;
    this.openEvent = openEvent;
    this.cursor = null;
    this.params = null;
    more.addEventListener("click", () => this.next());
  }

  // The first page of `params`, fetched; `show` draws it (apart, so that the page can lay out
  // the map and timeline before the longer list).
  async fetchFirst(params, sort, signal) {
    this.params = new URLSearchParams(params);
    if (sort) this.params.set("sort", sort);
    this.params.set("limit", String(PAGE_SIZE));
    return getJson("/v1/events", this.params, signal);
  }

  show(page) {
    this.list.replaceChildren(...page.items.map((event) => this.row(event)));
    this.setCursor(page.next_cursor);
    return page.items.length;
  }

  async next() {
    const params = new URLSearchParams(this.params);
    params.set("cursor", this.cursor);
    this.more.disabled = true;
    try {
      const page = await getJson("/v1/events", params);
      const rows = page.items.map((event) => this.row(event));
      this.list.append(...rows);
      this.setCursor(page.next_cursor);
      rows[0]?.querySelector("a")?.focus();
    } finally {
      this.more.disabled = false;
    }
  }

  setCursor(cursor) {
    this.cursor = cursor;
    this.more.hidden = !cursor;
  }

  row(event) {
    const link = el("a", { href: this.eventHref(event.id), class: "title" }, event.title);
    link.addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      this.openEvent(event.id);
    });
    const where = [event.location, event.admin1, event.country].filter(Boolean).join(", ");
    const fatalities = figure(event.fatalities_low, event.fatalities_best, event.fatalities_high);
    const facts = [
      dates(event.start_date, event.end_date),
      el("span", { class: `type type-${event.type}` }, TYPES[event.type] ?? event.type),
      where || null,
      fatalities !== "—" ? `fatalities ${fatalities}` : null,
      `${event.source_count} source${event.source_count === 1 ? "" : "s"}`,
    ].filter(Boolean);
    const meta = el("p", { class: "meta" });
    facts.forEach((fact, i) => meta.append(...(i ? [" · ", fact] : [fact])));
    return el("li", { class: "event", "data-id": event.id }, link, meta,
      event.citations.length ? el("ul", { class: "citations", "aria-label": "Citations" }, event.citations.map(citation)) : null);
  }
}
