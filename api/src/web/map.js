// The results map of maplink's submitter page: one marker per row with coordinates,
// from the session's GeoJSON export, over tiles (the `maplink-tile-url` setting) and
// bundled country outlines.
//
// Every value from a sheet reaches the page through textContent or DOM nodes, never as
// HTML: cells can hold <script>. Leaflet treats a string given to a popup or tooltip as
// HTML, so both only ever get elements built here.
//
// Markers are canvas circles (preferCanvas, L.circleMarker): no DOM node per marker, so
// thousands of rows pan and zoom smoothly. One popup is shared by all markers.
"use strict";
window.maplinkMap = (() => {
  const COLOURS = {
    located: "#17803d",
    approximate: "#e08a00",
    outside: "#c62828",
    other: "#5b6574",
  };
  /** Drawing order, bottom to top. */
  const RANK = { located: 0, other: 1, approximate: 2, outside: 3 };
  const LABELS = {
    located: "located",
    approximate: "approximate (a map's centre, not a pin)",
    outside: "outside the region its row names",
    other: "other status",
  };

  let map = null;
  let element = null;
  let markers = null; // the L.featureGroup of the current session's markers
  let markerRenderer = null;
  const byRow = new Map(); // row number → { marker, feature }
  let selected = null;
  let onSelect = () => {};
  let popup = null;

  function meta(name) {
    const el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.content : "";
  }

  /** The attribution setting with only its text and http(s) links kept, as HTML for
   *  Leaflet's attribution control (which sets it with innerHTML). It is parsed inertly
   *  (DOMParser runs no scripts) and rebuilt from new nodes, so nothing else survives. */
  function safeAttribution(html) {
    const parsed = new DOMParser().parseFromString(html, "text/html").body;
    const out = document.createElement("span");
    (function copy(from, to) {
      from.childNodes.forEach((node) => {
        if (node.nodeType === Node.TEXT_NODE) {
          to.appendChild(document.createTextNode(node.textContent));
        } else if (node.nodeType === Node.ELEMENT_NODE) {
          const href = node.tagName === "A" ? node.getAttribute("href") || "" : "";
          if (/^https?:\/\//i.test(href)) {
            const a = document.createElement("a");
            a.href = href;
            a.rel = "noopener noreferrer";
            a.target = "_blank";
            copy(node, a);
            to.appendChild(a);
          } else {
            copy(node, to);
          }
        }
      });
    })(parsed, out);
    return out.innerHTML;
  }

  function count(name) {
    element.dataset[name] = String(Number(element.dataset[name] || 0) + 1);
  }

  /** Creates the map once: panes, tiles, outlines. */
  function create(el) {
    element = el;
    map = L.map(el, { preferCanvas: true, minZoom: 1, worldCopyJump: true });
    map.setView([20, 0], 2);
    // The outlines live in a pane below the tiles (the tile pane's z-index is 200):
    // loaded tiles cover them, missing ones leave them visible.
    map.createPane("outlines").style.zIndex = 150;
    markerRenderer = L.canvas({ tolerance: 4 }); // a few pixels of slack around a marker
    popup = L.popup({ maxWidth: 340, autoPanPadding: L.point(24, 24) });
    map.on("popupclose", () => { delete element.dataset.popupRow; });

    const url = meta("maplink-tile-url");
    if (url) {
      L.tileLayer(url, { maxZoom: 19, attribution: safeAttribution(meta("maplink-tile-attribution")) })
        .on("tileload", () => count("tilesLoaded"))
        .on("tileerror", () => count("tileErrors"))
        .addTo(map);
    }
    // Always drawn, not only when tiles fail: a tile that never answers (a blocked or
    // very slow network) fires no error to wait for, and the outlines are cheap (cached
    // for a day, all on one canvas). Under working tiles nobody sees them.
    loadOutlines();
  }

  async function loadOutlines() {
    let data;
    try {
      const response = await fetch("/assets/outlines.json");
      if (!response.ok) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (e) {
      element.dataset.outlines = "failed";
      return;
    }
    const layer = L.geoJSON(data, {
      pane: "outlines",
      renderer: L.canvas({ pane: "outlines" }),
      interactive: false,
      style: { color: "#7b8794", weight: 1, opacity: 1, fill: false },
    }).addTo(map);
    let lines = 0;
    layer.eachLayer((l) => { lines += l.getLatLngs().length; });
    element.dataset.outlines = String(lines);
  }

  // --- one row's details ----------------------------------------------------------
  function text(v) {
    return v === null || v === undefined ? "" : String(v);
  }

  /** The values map.js shows, read through the export's column and field names. */
  function describe(feature, doc) {
    const p = feature.properties || {};
    const columns = (doc.maplink && doc.maplink.columns) || {};
    const fields = (doc.maplink && doc.maplink.fields) || {};
    const column = (name) => (columns[name] ? text(p[columns[name]]) : "");
    const field = (name) => p[fields[name] || name];
    const [lng, lat] = feature.geometry.coordinates;
    return {
      row: Number(field("row") ?? feature.id),
      name: column("name"),
      region: column("region"),
      link: column("link"),
      comment: column("comment"),
      status: text(field("status")),
      source: text(field("source")),
      approximate: field("approximate") === true,
      check: text(field("check")),
      lat,
      lng,
    };
  }

  function category(d) {
    if (d.status && d.status !== "success") return "other";
    if (d.check) return "outside";
    if (d.approximate) return "approximate";
    return "located";
  }

  function popupContent(d) {
    const box = document.createElement("div");
    box.className = "map-popup";
    const title = document.createElement("strong");
    title.textContent = d.name || "Row " + d.row;
    box.appendChild(title);
    const list = document.createElement("dl");
    const add = (label, value, cls) => {
      if (value === "" || value === null || value === undefined) return;
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      if (value instanceof Node) dd.appendChild(value);
      else dd.textContent = value;
      if (cls) dd.className = cls;
      list.append(dt, dd);
    };
    add("Row", String(d.row));
    add("Region", d.region);
    if (/^https?:\/\//i.test(d.link)) {
      // A link only for http(s): a javascript: URL in a cell must stay text.
      const a = document.createElement("a");
      a.href = d.link;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = d.link;
      add("Link", a);
    } else {
      add("Link", d.link);
    }
    add("Coordinates", d.lat.toFixed(6) + ", " + d.lng.toFixed(6));
    add("Source", d.source + (d.approximate ? " (approximate)" : ""));
    add("Comment", d.comment);
    add("Check", d.check, "check-warning");
    box.appendChild(list);
    return box;
  }

  function tooltipContent(marker) {
    const d = marker.options.details;
    const el = document.createElement("span");
    el.textContent = (d.name || "Row " + d.row) + (d.region ? " — " + d.region : "");
    return el;
  }

  // --- markers and selection -------------------------------------------------------
  function styleFor(d, isSelected) {
    return {
      radius: isSelected ? 9 : 6,
      color: isSelected ? "#1d2430" : "#ffffff",
      weight: isSelected ? 3 : 1.5,
      fillColor: COLOURS[category(d)],
      fillOpacity: 0.9,
    };
  }

  function highlight(entry) {
    if (selected && selected !== entry) selected.marker.setStyle(styleFor(selected.marker.options.details, false));
    selected = entry;
    if (entry) {
      entry.marker.setStyle(styleFor(entry.marker.options.details, true));
      entry.marker.bringToFront();
    }
  }

  function openPopup(entry) {
    highlight(entry);
    popup.setLatLng(entry.marker.getLatLng()).setContent(popupContent(entry.marker.options.details)).openOn(map);
    element.dataset.popupRow = String(entry.marker.options.details.row);
  }

  function legend(counts) {
    const list = document.getElementById("map-legend");
    list.replaceChildren();
    Object.keys(COLOURS).forEach((key) => {
      if (!counts[key]) return;
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch swatch-" + key;
      li.append(swatch, document.createTextNode(LABELS[key] + " (" + counts[key] + ")"));
      list.appendChild(li);
    });
  }

  /**
   * Shows a session's GeoJSON export on the map in `el` (created on first use) and
   * fits the view to its points. `select(row)` is called when a marker is clicked.
   */
  function show(el, doc, select) {
    if (!map) create(el);
    onSelect = select || (() => {});
    // The results card may just have been unhidden: Leaflet measures its box again.
    map.invalidateSize();
    clear();
    const counts = {};
    const list = [];
    const found = [];
    (doc.features || []).forEach((feature) => {
      const g = feature.geometry;
      if (!g || g.type !== "Point" || !Array.isArray(g.coordinates)) return;
      const d = describe(feature, doc);
      if (Number.isFinite(d.lat) && Number.isFinite(d.lng)) found.push({ feature, d });
    });
    // Warnings are drawn last, on top: where points overlap (one place, two rows) an
    // approximate or out-of-region point must not hide under a plain one.
    found.sort((a, b) => RANK[category(a.d)] - RANK[category(b.d)]);
    found.forEach(({ feature, d }) => {
      const marker = L.circleMarker([d.lat, d.lng], Object.assign(styleFor(d, false), { renderer: markerRenderer, details: d }));
      byRow.set(d.row, { marker, feature });
      counts[category(d)] = (counts[category(d)] || 0) + 1;
      list.push(marker);
    });
    markers = L.featureGroup(list);
    markers.bindTooltip(tooltipContent, { direction: "top", offset: L.point(0, -6) });
    markers.on("click", (e) => {
      const entry = byRow.get(e.layer.options.details.row);
      openPopup(entry);
      onSelect(entry.marker.options.details.row);
    });
    markers.addTo(map);
    element.dataset.markers = String(markers.getLayers().length);
    legend(counts);
    if (list.length > 0) {
      // At once rather than animated: the points are where they are from the start
      // (and a test reading a marker's pixel never catches the view mid-flight).
      map.fitBounds(markers.getBounds(), { padding: L.point(24, 24), maxZoom: 14, animate: false });
    } else {
      map.setView([20, 0], 2, { animate: false });
    }
  }

  /** Removes the markers (a new upload, a new run). */
  function clear() {
    if (!map) return;
    map.closePopup();
    if (markers) markers.remove();
    markers = null;
    selected = null;
    byRow.clear();
    element.dataset.markers = "0";
    delete element.dataset.popupRow;
    legend({});
  }

  /** Shows row `row` on the map (from the results table): pans to it and opens its
   *  popup. False when the row has no marker. */
  function select(row) {
    const entry = byRow.get(row);
    if (!map || !entry) {
      if (map) { map.closePopup(); highlight(null); }
      return false;
    }
    const at = entry.marker.getLatLng();
    if (!map.getBounds().contains(at)) map.panTo(at, { animate: false });
    openPopup(entry);
    return true;
  }

  return {
    show,
    clear,
    select,
    /** The marker of row `row`, if any (tests use it to find a marker's pixel). */
    marker: (row) => (byRow.get(row) || {}).marker,
    /** The Leaflet map, once created. */
    get leaflet() { return map; },
  };
})();
