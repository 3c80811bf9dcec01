// The map: country outlines shipped with the page (world-atlas, Natural Earth 1:110m) and the
// matching events from the GeoJSON export, clustered. No tiles: nothing is fetched from
// another host.
/* global L, topojson */

import { apiUrl } from "./api.js";
import { TYPES, dates, el } from "./format.js";

// Drawn on a canvas: 177 countries as SVG paths cost twice the time to lay out.
const OUTLINE = { color: "#a9a39a", weight: 0.7, fillColor: "#f5f2ea", fillOpacity: 1 };

// Natural Earth cuts the rings that cross the antimeridian (Russia's east, Fiji) at ±180°;
// drawn as they are, they would stretch across the whole map. Such a ring continues east
// past 180° instead. Antarctica circles the pole, and stays as it is.
const ANTARCTICA = "010";

function unwrap(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const ring of polygons.flat()) {
    const longitudes = ring.map(([lon]) => lon);
    if (Math.max(...longitudes) - Math.min(...longitudes) > 180) {
      for (const point of ring) if (point[0] < 0) point[0] += 360;
    }
  }
}

// The outlines' TopoJSON, asked for at once (it does not need Leaflet to arrive).
export function fetchOutlines() {
  return fetch(apiUrl("/explore/static/vendor/world-atlas/countries-110m.json")).then((r) => r.json());
}

// Leaflet, its cluster plugin and topojson-client are classic `defer` scripts: all have run
// by DOMContentLoaded. This module may start before that, to ask for the data sooner.
export function librariesLoaded() {
  if (window.L?.markerClusterGroup && window.topojson) return Promise.resolve();
  return new Promise((resolve) => document.addEventListener("DOMContentLoaded", () => resolve(), { once: true }));
}

export class EventMap {
  constructor(container, openEvent) {
    this.openEvent = openEvent;
    this.map = L.map(container, {
      center: [30, 20], zoom: 2, minZoom: 1, maxZoom: 12, zoomSnap: 0.5, worldCopyJump: true,
      keyboard: true,
    });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution("Outlines: Natural Earth via world-atlas");
    this.clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45 });
    this.map.addLayer(this.clusters);
    this.count = 0;
  }

  showOutlines(topology) {
    performance.mark("explorer:outlines-start");
    const countries = topojson.feature(topology, topology.objects.countries);
    for (const country of countries.features) {
      if (country.id !== ANTARCTICA && country.geometry) unwrap(country.geometry);
    }
    L.geoJSON(countries, { interactive: false, renderer: L.canvas({ padding: 0.2 }), style: OUTLINE }).addTo(this.map).bringToBack();
    performance.mark("explorer:outlines");
  }

  show(collection) {
    this.clusters.clearLayers();
    const markers = collection.features.map((feature) => this.marker(feature));
    if (markers.length) {
      // the view first, so that the clusters are made once, for the zoom they are seen at
      const bounds = L.latLngBounds(markers.map((marker) => marker.getLatLng()));
      this.map.fitBounds(bounds.pad(0.3), { maxZoom: 6, animate: false });
    }
    this.clusters.addLayers(markers);
    this.count = markers.length;
    return markers.length;
  }

  marker(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    const event = feature.properties;
    const icon = L.divIcon({ className: `pin type-${event.type}`, iconSize: [14, 14] });
    const marker = L.marker([lat, lon], { icon, title: event.title, alt: event.title, keyboard: true });
    marker.bindPopup(() => {
      const link = el("a", { href: "#", class: "open" }, event.title);
      link.addEventListener("click", (e) => {
        e.preventDefault();
        this.openEvent(event.id);
      });
      const grade = event.best_reliability ? ` · best source ${event.best_reliability}` : "";
      return el("div", { class: "popup" }, el("strong", {}, link),
        el("div", {}, `${dates(event.start_date, event.end_date)} · ${TYPES[event.type] ?? event.type}`),
        el("div", {}, `${event.source_count} source${event.source_count === 1 ? "" : "s"}${grade}`));
    });
    return marker;
  }

  refresh() {
    this.map.invalidateSize();
  }
}
