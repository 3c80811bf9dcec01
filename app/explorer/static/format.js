// Words and numbers as the page shows them.

export const TYPES = {
  armed_clash: "Armed clash",
  remote_violence: "Remote violence",
  ground_offensive: "Ground offensive",
  violence_against_civilians: "Violence against civilians",
  military_exercise: "Military exercise",
  troop_deployment: "Troop deployment",
  weapons_transfer: "Weapons transfer",
  protest: "Protest",
  riot: "Riot",
  defection: "Defection",
  diplomatic: "Diplomatic",
  other: "Other",
};

export const RELIABILITY = {
  A: "completely reliable",
  B: "usually reliable",
  C: "fairly reliable",
  D: "not usually reliable",
  E: "unreliable",
  F: "reliability cannot be judged",
};

export const CREDIBILITY = {
  1: "confirmed by other sources",
  2: "probably true",
  3: "possibly true",
  4: "doubtful",
  5: "improbable",
  6: "truth cannot be judged",
};

const numbers = new Intl.NumberFormat("en");

export function number(value) {
  return value === null || value === undefined ? "" : numbers.format(value);
}

// "13,000", "100,000–150,000", "about 40 (30–50)".
export function figure(low, best, high) {
  const given = [low, best, high].filter((v) => v !== null && v !== undefined);
  if (!given.length) return "—";
  const lo = Math.min(...given);
  const hi = Math.max(...given);
  if (best !== null && best !== undefined && lo !== hi) return `${number(best)} (${number(lo)}–${number(hi)})`;
  return lo === hi ? number(lo) : `${number(lo)}–${number(hi)}`;
}

export function dates(start, end) {
  return start === end ? start : `${start} – ${end}`;
}

// A grade as text, e.g. "B2"; the title spells it out.
export function grade(reliability, credibility) {
  const text = `${reliability ?? "?"}${credibility ?? ""}`;
  const words = [RELIABILITY[reliability] ? `source ${RELIABILITY[reliability]}` : "no source grade"];
  if (credibility) words.push(`information ${CREDIBILITY[credibility]}`);
  return el("span", { class: `grade grade-${reliability ?? "none"}`, title: words.join(", ") }, text);
}

// A DOM element: el("a", {href: …}, "text", child…). Never HTML strings, so nothing from the
// data is ever parsed as markup.
export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
