// maplink's submitter page. Every value from a sheet or the server is put on the page
// with textContent, never as HTML: cells can hold <script>.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { id: null, expiresAt: null, lastEventId: null, source: null, token: sessionStorage.getItem("maplink-token"), mapRequest: 0 };

  // --- messages ---------------------------------------------------------------------
  function show(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = "message" + (kind === "info" ? " info" : "");
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }
  function clearMessage() { $("message").hidden = true; }

  /** A friendly sentence for any error the API can return. */
  function explain(status, body) {
    const said = body && typeof body.error === "string" ? body.error : "";
    switch (status) {
      case 401: return "This service needs an access token. Enter it above and try again.";
      case 404: return said || "Invalid session ID. Your session may have expired. Please upload the file again.";
      case 408: return said || "The upload took too long. Please try again.";
      case 413: return said || "This file is too large to upload.";
      case 415: return "Please choose an .xlsx or .csv file.";
      case 429: return said || "Too many requests. Please wait a moment and try again.";
      case 503: return "The service is busy or restarting. Please try again in a few seconds.";
      default:
        if (said) return said;
        return status >= 500 ? "Something went wrong on our side. Please try again." : "The request failed (" + status + ").";
    }
  }

  // --- API --------------------------------------------------------------------------
  function withToken(url) {
    if (!state.token) return url;
    return url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(state.token);
  }
  async function api(method, url, body) {
    const headers = {};
    if (state.token) headers["Authorization"] = "Bearer " + state.token;
    let response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch (e) {
      throw { status: 0, message: "The service cannot be reached. Check your connection and try again." };
    }
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    if (!response.ok) {
      if (response.status === 401) $("token-box").hidden = false;
      throw { status: response.status, message: explain(response.status, json) };
    }
    return json;
  }

  // --- rendering --------------------------------------------------------------------
  function cell(tag, value, cls) {
    const el = document.createElement(tag);
    if (value === null || value === undefined) { el.textContent = ""; el.className = "null"; }
    else el.textContent = String(value);
    if (cls) el.className = cls;
    el.title = el.textContent;
    return el;
  }
  function renderPreview(columns, rows) {
    const head = $("preview").tHead, body = $("preview").tBodies[0];
    head.replaceChildren(); body.replaceChildren();
    const tr = document.createElement("tr");
    columns.forEach((c) => tr.appendChild(cell("th", c)));
    head.appendChild(tr);
    rows.forEach((row) => {
      const r = document.createElement("tr");
      columns.forEach((c) => r.appendChild(cell("td", row[c])));
      body.appendChild(r);
    });
  }
  function formatLeft(ms) {
    if (ms <= 0) return "expired";
    const mins = Math.floor(ms / 60000);
    const h = Math.floor(mins / 60), m = mins % 60;
    if (h > 0) return "expires in " + h + " h " + m + " min";
    if (mins > 0) return "expires in " + m + " min";
    return "expires in " + Math.ceil(ms / 1000) + " s";
  }
  function tick() {
    if (!state.expiresAt) return;
    $("expires").textContent = "Session " + formatLeft(state.expiresAt - Date.now());
  }
  function setSession(s) {
    state.id = s.session_id;
    state.expiresAt = Date.parse(s.expires_at);
    $("filename").textContent = s.filename;
    $("rowcount").textContent = s.total_rows;
    $("mapcol").textContent = s.map_column;
    tick();
  }
  function setProgress(done, total, percent, name) {
    const p = Math.max(0, Math.min(100, Number(percent) || 0));
    $("bar-fill").style.width = p + "%";
    $("bar").setAttribute("aria-valuenow", String(Math.round(p)));
    $("progress-text").textContent = "Row " + done + " of " + total + " (" + p.toFixed(1) + "%)" + (name ? " — " + name : "");
  }
  function addLog(level, message) {
    const li = document.createElement("li");
    li.className = level || "info";
    li.textContent = message;
    $("log").appendChild(li);
    $("log").scrollTop = $("log").scrollHeight;
  }
  // Downloads are plain links when the service is open. With a token they are fetched
  // with the Authorization header and saved from a Blob: a token in a link's URL would
  // end up in browser history and proxy logs (the server takes it in the URL only on
  // event streams).
  function setDownloads() {
    const base = "/api/v1/sessions/" + encodeURIComponent(state.id) + "/download";
    $("download-all").href = base;
    $("download-failed").href = base + "?rows=failed";
    $("download-skipped").href = base + "?rows=skipped";
    ["geojson", "kml", "gpx"].forEach((f) => { $("download-" + f).href = base + "?format=" + f; });
  }
  /** The file name from a Content-Disposition header: filename* (UTF-8) first. */
  function dispositionFilename(header) {
    if (!header) return null;
    const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (star) { try { return decodeURIComponent(star[1].trim()); } catch (e) { /* fall through */ } }
    const plain = /filename="([^"]*)"/i.exec(header) || /filename=([^;]+)/i.exec(header);
    return plain ? plain[1].trim() : null;
  }
  async function download(link) {
    clearMessage();
    let response;
    try {
      response = await fetch(link.href, { headers: { "Authorization": "Bearer " + state.token } });
    } catch (e) {
      show("The service cannot be reached. Check your connection and try again.");
      return;
    }
    if (!response.ok) {
      let json = null;
      try { json = await response.json(); } catch (e) { json = null; }
      if (response.status === 401) $("token-box").hidden = false;
      show(explain(response.status, json));
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const save = document.createElement("a");
    save.href = url;
    save.download = dispositionFilename(response.headers.get("Content-Disposition")) || "download";
    document.body.appendChild(save);
    save.click();
    save.remove();
    // The browser has taken the Blob once the click is handled; the URL is released
    // a little later rather than at once, which some browsers would cancel.
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
  async function showResults() {
    const s = await api("GET", "/api/v1/sessions/" + encodeURIComponent(state.id));
    setSession(s);
    $("stat-total").textContent = s.total_rows;
    $("stat-successful").textContent = s.counts.successful;
    $("stat-failed").textContent = s.counts.failed;
    $("stat-skipped").textContent = s.counts.skipped;
    setDownloads();
    const page = await api("GET", "/api/v1/sessions/" + encodeURIComponent(state.id) + "/rows?limit=1000");
    const body = $("rows").tBodies[0];
    body.replaceChildren();
    page.rows.forEach((r) => {
      const tr = document.createElement("tr");
      // The row number ties a table row to its marker on the map (choose one, see the other).
      tr.dataset.row = String(r.row);
      tr.tabIndex = 0;
      tr.appendChild(cell("td", r.row));
      tr.appendChild(cell("td", r.name));
      tr.appendChild(cell("td", r.status, "status-" + r.status));
      tr.appendChild(cell("td", r.lng));
      tr.appendChild(cell("td", r.lat));
      tr.appendChild(cell("td", r.message));
      tr.appendChild(cell("td", r.source ? r.source + (r.approximate ? " (approximate)" : "") : ""));
      tr.appendChild(cell("td", r.check || "", r.check ? "check-warning" : undefined));
      body.appendChild(tr);
    });
    $("rows-more").hidden = page.total <= page.rows.length;
    $("rows-more").textContent = "Showing " + page.rows.length + " of " + page.total + " rows; download the sheet for all of them.";
    $("results").hidden = false;
    // After the card is visible: the map measures its box when it draws. The results
    // stand without it, so its own trouble stays in its own note.
    loadMap(s.counts.successful).catch((e) => { $("map-note").textContent = "The map could not be drawn: " + (e.message || e); });
  }

  // --- the map ----------------------------------------------------------------------
  // The map reads the session's GeoJSON export: every located row (not only the first
  // 1000 the table shows), with all of its sheet's columns.
  async function loadMap(locatedRows) {
    const request = ++state.mapRequest;
    const note = $("map-note");
    if (!window.L || !window.maplinkMap) { note.textContent = "The map is not available."; return; }
    // Past the service's limit the points are not fetched at all: a browser holding
    // a hundred thousand of them would be slow to draw and slower to pan.
    const most = Number(document.querySelector('meta[name="maplink-map-max-points"]')?.content || 0);
    $("map").hidden = most > 0 && locatedRows > most;
    if ($("map").hidden) {
      window.maplinkMap.clear();
      note.textContent = locatedRows + " rows have coordinates, more than the " + most +
        " this map draws. Download the GeoJSON to see them all in a map tool.";
      return;
    }
    note.textContent = "Loading the map…";
    let doc;
    try {
      doc = await api("GET", "/api/v1/sessions/" + encodeURIComponent(state.id) + "/download?format=geojson");
    } catch (e) {
      if (request === state.mapRequest) note.textContent = "The map could not be loaded: " + e.message;
      return;
    }
    // A newer run or upload may have asked for its own map meanwhile.
    if (request !== state.mapRequest) return;
    window.maplinkMap.show($("map"), doc, (row) => selectRow(row, true));
    const m = doc.maplink || {};
    const located = Number(m.located_rows ?? (doc.features || []).length);
    const unlocated = Number(m.unlocated_rows ?? 0);
    note.textContent = located + (located === 1 ? " row" : " rows") + " on the map" +
      (unlocated > 0 ? "; " + unlocated + (unlocated === 1 ? " row has" : " rows have") + " no coordinates." : ".") +
      " Choose a point to see its row, or a row to see its point.";
  }
  function clearMap() {
    state.mapRequest++;
    $("map-note").textContent = "";
    if (window.maplinkMap) window.maplinkMap.clear();
  }
  /** Marks row `row` of the results table as chosen; `scroll` brings it into view. */
  function selectRow(row, scroll) {
    const body = $("rows").tBodies[0];
    body.querySelectorAll("tr.selected").forEach((tr) => {
      tr.classList.remove("selected");
      tr.removeAttribute("aria-selected");
    });
    const tr = body.querySelector('tr[data-row="' + String(Number(row)) + '"]');
    if (!tr) return;
    tr.classList.add("selected");
    tr.setAttribute("aria-selected", "true");
    if (scroll) scrollWithinTable(tr);
  }
  /** Brings `tr` into view inside the table's own scroll box only. scrollIntoView would
   *  scroll the page too, moving the map out from under the pointer that chose the row. */
  function scrollWithinTable(tr) {
    const wrap = tr.closest(".rows-wrap");
    const head = $("rows").tHead.getBoundingClientRect().height;
    const r = tr.getBoundingClientRect(), w = wrap.getBoundingClientRect();
    if (r.top < w.top + head) wrap.scrollTop -= w.top + head - r.top;
    else if (r.bottom > w.bottom) wrap.scrollTop += r.bottom - w.bottom;
  }
  /** A row of the table was chosen: mark it and show it on the map. */
  function chooseRow(tr) {
    if (!tr) return;
    const row = Number(tr.dataset.row);
    selectRow(row, false);
    if (window.maplinkMap && window.maplinkMap.select(row)) $("map").scrollIntoView({ block: "nearest" });
  }

  // --- flow -------------------------------------------------------------------------
  async function upload(file) {
    if (!file) return;
    clearMessage();
    if (!/\.(xlsx|csv)$/i.test(file.name)) { show("Please choose an .xlsx or .csv file."); return; }
    $("uploading").hidden = false;
    $("session").hidden = true; $("progress-card").hidden = true; $("results").hidden = true;
    clearMap();
    if (state.source) { state.source.close(); state.source = null; }
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const s = await api("POST", "/api/v1/sessions", form);
      state.lastEventId = null;
      setSession(s);
      renderPreview(s.preview_columns, s.preview_data);
      remember(s);
      $("session").hidden = false;
      $("extract").disabled = false;
      $("extract").focus();
    } catch (e) {
      show(e.message);
    } finally {
      $("uploading").hidden = true;
      $("file").value = "";
    }
  }

  function follow() {
    let url = "/api/v1/sessions/" + encodeURIComponent(state.id) + "/events";
    if (state.lastEventId) url += "?after=" + encodeURIComponent(state.lastEventId);
    // EventSource reconnects by itself and sends Last-Event-ID, so nothing is lost.
    const source = new EventSource(withToken(url));
    state.source = source;
    source.onmessage = (m) => {
      state.lastEventId = m.lastEventId || state.lastEventId;
      let e;
      try { e = JSON.parse(m.data); } catch (err) { return; }
      if (e.type === "start") { setProgress(0, e.total, 0, null); addLog("info", "Started: " + e.total + " rows"); }
      else if (e.type === "progress") setProgress(e.row, e.total, e.percent, e.name);
      else if (e.type === "log") addLog(e.level, e.message);
      else if (e.type === "complete") {
        source.close(); state.source = null;
        $("extract").disabled = false;
        showResults().catch((err) => show(err.message));
      } else if (e.type === "error") {
        source.close(); state.source = null;
        $("extract").disabled = false;
        show(e.message || "Processing failed.");
      }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        state.source = null;
        $("extract").disabled = false;
      }
    };
  }

  async function extract() {
    clearMessage();
    $("extract").disabled = true;
    try {
      // The details columns are an option of this run only (the server keeps it with the run's job).
      const details = $("details").checked ? "?details=true" : "";
      await api("POST", "/api/v1/sessions/" + encodeURIComponent(state.id) + "/process" + details);
      $("log").replaceChildren();
      setProgress(0, Number($("rowcount").textContent) || 0, 0, null);
      $("progress-card").hidden = false;
      $("results").hidden = true;
      clearMap();
      follow();
    } catch (e) {
      $("extract").disabled = false;
      show(e.message);
    }
  }

  async function renew() {
    clearMessage();
    try {
      setSession(await api("POST", "/api/v1/sessions/" + encodeURIComponent(state.id) + "/renew"));
      show("Your session will be kept for another " + formatLeft(state.expiresAt - Date.now()).replace("expires in ", "") + ".", "info");
    } catch (e) {
      show(e.message);
    }
  }

  // --- surviving a reload ------------------------------------------------------------
  // The session id and preview are kept for this tab, so a reload (or a crashed tab
  // restored) picks the session up where it is: preview, a run in progress, or results.
  function remember(s) {
    sessionStorage.setItem("maplink-session", JSON.stringify({ id: s.session_id, columns: s.preview_columns, rows: s.preview_data }));
  }
  async function restore() {
    let saved;
    try { saved = JSON.parse(sessionStorage.getItem("maplink-session") || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.id) return;
    state.id = saved.id;
    let s;
    try {
      s = await api("GET", "/api/v1/sessions/" + encodeURIComponent(saved.id));
    } catch (e) {
      sessionStorage.removeItem("maplink-session");
      state.id = null;
      if (e.status === 404) show(e.message);
      return;
    }
    setSession(s);
    renderPreview(saved.columns || [], saved.rows || []);
    $("session").hidden = false;
    if (s.status === "queued" || s.status === "processing") {
      $("extract").disabled = true;
      $("progress-card").hidden = false;
      setProgress(s.progress.done, s.progress.total, s.progress.percent, null);
      follow();
    } else if (s.status === "completed") {
      await showResults();
    } else if (s.status === "failed" && s.error) {
      show(s.error);
    }
  }

  // --- wiring -----------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("file").addEventListener("change", (e) => upload(e.target.files[0]));
    const drop = $("drop");
    ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
    drop.addEventListener("drop", (e) => upload(e.dataTransfer.files[0]));
    $("extract").addEventListener("click", extract);
    const rows = $("rows").tBodies[0];
    rows.addEventListener("click", (e) => chooseRow(e.target.closest("tr[data-row]")));
    rows.addEventListener("keydown", (e) => { if (e.key === "Enter") chooseRow(e.target.closest("tr[data-row]")); });
    $("renew").addEventListener("click", renew);
    ["download-all", "download-failed", "download-skipped", "download-geojson", "download-kml", "download-gpx"].forEach((id) => $(id).addEventListener("click", (e) => {
      if (!state.token) return; // the plain link works without a token
      e.preventDefault();
      download(e.currentTarget);
    }));
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.token = $("token").value.trim();
      sessionStorage.setItem("maplink-token", state.token);
      $("token-box").hidden = true;
      show("Token saved for this tab. Please repeat your last step.", "info");
    });
    setInterval(tick, 1000);
    restore().catch((e) => show(e.message || String(e)));
  });
})();
