// names.js: places and ethnic groups by name instead of code, from
// /app/names.json (made by package web from package permit's tables).
// placeName follows permit.Division.Name: the full name when the table has
// the code, else as far as it is known followed by the code.

import { lang } from "./ui.js";

const MUNICIPALITIES = new Set(["11", "12", "31", "50"]);
let names = { divisions: {}, ethnicities: {} };

/** loadNames fetches the table once; without it codes show as they are. */
export async function loadNames(url = new URL("names.json", import.meta.url)) {
  try {
    const r = await fetch(url, { credentials: "same-origin" });
    if (r.ok) names = await r.json();
  } catch { /* offline and not cached: codes */ }
  return names;
}

function pick(pair) {
  return lang() === "en" ? pair[1] || pair[0] : pair[0] || pair[1];
}

/** placeName shows a GB/T 2260 division code as a place in the current language. */
export function placeName(code) {
  const d = String(code || ""), tbl = names.divisions || {};
  if (!/^\d{6}$/.test(d)) return d;
  const prov = tbl[d.slice(0, 2) + "0000"];
  if (!prov || d.slice(2, 4) === "00") return d;
  if (tbl[d]) return pick(tbl[d]);
  const muni = MUNICIPALITIES.has(d.slice(0, 2));
  if (muni && d.slice(4) === "00") return pick(prov);
  const known = (!muni && tbl[d.slice(0, 4) + "00"]) || prov;
  return lang() === "en" ? `${known[1]} (${d})` : `${known[0]} ${d}`;
}

/** ethnicityName shows a GB/T 3304 code (01 to 56) as the group's name. */
export function ethnicityName(code) {
  const e = (names.ethnicities || {})[code];
  return e ? pick(e) : String(code || "");
}
