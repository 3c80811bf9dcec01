// The timeline: events (or fatalities) per period, stacked by type, drawn as SVG from
// /v1/events/timeline?group_by=type. Dragging across it picks a date range.

import { TYPES, number } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 190;
const PAD = { top: 10, right: 10, bottom: 24, left: 44 };

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

// The last day of the period that starts on `period` (an ISO date).
export function periodEnd(period, interval) {
  const day = new Date(`${period}T00:00:00Z`);
  if (interval === "day") return period;
  if (interval === "week") day.setUTCDate(day.getUTCDate() + 6);
  if (interval === "month") day.setUTCMonth(day.getUTCMonth() + 1, 0);
  if (interval === "year") day.setUTCFullYear(day.getUTCFullYear() + 1, 0, 0);
  return day.toISOString().slice(0, 10);
}

function label(period, interval) {
  if (interval === "year") return period.slice(0, 4);
  if (interval === "month") return period.slice(0, 7);
  return period;
}

export class Timeline {
  constructor(container, legend, onRange) {
    this.container = container;
    this.legend = legend;
    this.onRange = onRange;
  }

  // Draws `buckets` (one per period and type); answers the number of events they count.
  show(buckets, interval, measure) {
    const periods = [...new Set(buckets.map((b) => b.period))].sort();
    const keys = [...new Set(buckets.map((b) => b.key))].sort();
    const stacks = new Map(periods.map((p) => [p, []]));
    let events = 0;
    for (const bucket of buckets) {
      events += bucket.events;
      if (bucket[measure] > 0) stacks.get(bucket.period).push(bucket);
    }
    const totals = periods.map((p) => stacks.get(p).reduce((sum, b) => sum + b[measure], 0));
    const max = Math.max(1, ...totals);
    this.container.replaceChildren();
    this.legend.replaceChildren(...keys.map((key) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch type-${key}`;
      item.append(swatch, TYPES[key] ?? key);
      return item;
    }));
    if (!periods.length) {
      this.container.append(Object.assign(document.createElement("p"), { className: "empty", textContent: "No events match." }));
      return events;
    }
    const width = Math.max(320, this.container.clientWidth);
    const plotWidth = width - PAD.left - PAD.right;
    const plotHeight = HEIGHT - PAD.top - PAD.bottom;
    const band = plotWidth / periods.length;
    const y = (value) => PAD.top + plotHeight - (value / max) * plotHeight;
    const what = measure === "events" ? "events" : "fatalities (best)";
    const chart = svg("svg", {
      width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
      "aria-label": `${what} per ${interval}, ${periods[0]} to ${periods.at(-1)}, at most ${number(max)} in one ${interval}`,
    });
    for (const tick of [0, max / 2, max]) {
      const value = Math.round(tick);
      chart.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(value), y2: y(value), class: "grid" }));
      chart.append(svg("text", { x: PAD.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, number(value)));
    }
    const gap = band > 4 ? 1 : 0;
    periods.forEach((period, index) => {
      let base = 0;
      const x = PAD.left + index * band;
      for (const bucket of stacks.get(period)) {
        const top = y(base + bucket[measure]);
        const rect = svg("rect", {
          x: x + gap / 2, y: top, width: Math.max(band - gap, 0.5), height: y(base) - top,
          class: `bar type-${bucket.key}`,
        }, svg("title", {}, `${label(period, interval)} · ${TYPES[bucket.key] ?? bucket.key}: ${number(bucket[measure])} ${what}`));
        chart.append(rect);
        base += bucket[measure];
      }
    });
    const labels = Math.min(periods.length, Math.max(2, Math.floor(plotWidth / 90)));
    for (let i = 0; i < labels; i += 1) {
      const index = labels === 1 ? 0 : Math.round((i * (periods.length - 1)) / (labels - 1));
      const anchor = labels > 1 && i === 0 ? "start" : labels > 1 && i === labels - 1 ? "end" : "middle";
      const x = { start: PAD.left + index * band, middle: PAD.left + index * band + band / 2, end: PAD.left + (index + 1) * band }[anchor];
      chart.append(svg("text", { x, y: HEIGHT - 6, class: "axis", "text-anchor": anchor }, label(periods[index], interval)));
    }
    this.brush(chart, periods, interval, band, plotHeight);
    this.container.append(chart);
    return events;
  }

  brush(chart, periods, interval, band, plotHeight) {
    const selection = svg("rect", { x: 0, y: PAD.top, width: 0, height: plotHeight, class: "brush", visibility: "hidden" });
    chart.append(selection);
    const indexAt = (event) => {
      const box = chart.getBoundingClientRect();
      const index = Math.floor((event.clientX - box.left - PAD.left) / band);
      return Math.min(periods.length - 1, Math.max(0, index));
    };
    let start = null;
    const draw = (end) => {
      const [a, b] = start <= end ? [start, end] : [end, start];
      selection.setAttribute("x", String(PAD.left + a * band));
      selection.setAttribute("width", String((b - a + 1) * band));
      selection.setAttribute("visibility", "visible");
    };
    chart.addEventListener("pointerdown", (event) => {
      start = indexAt(event);
      chart.setPointerCapture(event.pointerId);
      draw(start);
    });
    chart.addEventListener("pointermove", (event) => {
      if (start !== null) draw(indexAt(event));
    });
    chart.addEventListener("pointerup", (event) => {
      if (start === null) return;
      const end = indexAt(event);
      const [a, b] = start <= end ? [start, end] : [end, start];
      start = null;
      this.onRange(periods[a], periodEnd(periods[b], interval));
    });
  }
}
