// The ops dashboard: polls /api/v1/ops/stats and renders it. Values go on the page as
// text only.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  // The token comes from the form only, kept for this tab: a token in the page's URL
  // would end up in browser history and proxy logs.
  let token = sessionStorage.getItem("maplink-ops-token");

  function text(id, v) { $(id).textContent = v === null || v === undefined ? "–" : String(v); }
  function row(values, classes) {
    const tr = document.createElement("tr");
    values.forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = v === null || v === undefined ? "–" : String(v);
      if (classes && classes[i]) td.className = classes[i];
      tr.appendChild(td);
    });
    return tr;
  }

  function chart(minutes) {
    const svgNs = "http://www.w3.org/2000/svg";
    const w = 600, h = 120, pad = 2;
    const max = Math.max(1, ...minutes.map((m) => m.jobs));
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "120");
    svg.setAttribute("preserveAspectRatio", "none");
    const bw = w / Math.max(1, minutes.length);
    minutes.forEach((m, i) => {
      const bh = Math.round((m.jobs / max) * (h - 10));
      const rect = document.createElementNS(svgNs, "rect");
      rect.setAttribute("x", String(i * bw + pad / 2));
      rect.setAttribute("y", String(h - bh));
      rect.setAttribute("width", String(Math.max(1, bw - pad)));
      rect.setAttribute("height", String(bh));
      rect.setAttribute("fill", "#0b63ce");
      const title = document.createElementNS(svgNs, "title");
      title.textContent = new Date(m.at * 1000).toLocaleTimeString() + ": " + m.jobs + " jobs, " + m.rows + " rows";
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    $("chart").replaceChildren(svg);
    const jobs = minutes.reduce((a, m) => a + m.jobs, 0), rows = minutes.reduce((a, m) => a + m.rows, 0);
    const plural = (n, one) => n + " " + one + (n === 1 ? "" : "s");
    $("tp-summary").textContent = plural(jobs, "job") + " and " + plural(rows, "row") + " in the last hour.";
  }

  function render(s) {
    text("store", s.store.ok ? "ok (" + s.store.latency_ms + " ms)" : "DOWN");
    const live = s.workers.filter((w) => w.live).length;
    text("live-workers", live);
    text("sessions-total", s.sessions ? s.sessions.total : null);
    text("oldest-idle", s.sessions ? s.sessions.oldest_idle_minutes : null);
    text("mode", s.mode);
    const q = s.queue || {};
    text("q-pending", q.pending); text("q-scheduled", q.scheduled); text("q-running", q.running);
    text("q-dead", q.dead); text("q-done", q.done);
    chart(s.throughput || []);

    const wb = $("workers").tBodies[0];
    wb.replaceChildren(...s.workers.map((w) => row(
      [w.name, w.host, w.live ? "yes" : "no", w.heartbeat_age_s + " s ago", w.in_flight, w.jobs_done],
      [null, null, w.live ? "status-success" : "status-failed"])));
    if (s.workers.length === 0) wb.appendChild(row(["no workers have reported yet"]));

    const sb = $("sessions").tBodies[0];
    const by = (s.sessions && s.sessions.by_status) || {};
    sb.replaceChildren(...Object.keys(by).map((k) => row([k, by[k]])));

    const cl = $("cleanups");
    cl.replaceChildren(...s.cleanups.map((c) => {
      const li = document.createElement("li");
      const ages = c.sessions.map((x) => x.id + "… age " + x.age_minutes + " min (idle " + x.idle_minutes + " min, " + x.status + ")");
      li.textContent = new Date(c.ran_at).toLocaleString() + " by " + c.runner + ": " + c.sessions.length + " removed — " + ages.join("; ");
      return li;
    }));
    if (s.cleanups.length === 0) { const li = document.createElement("li"); li.textContent = "no cleanups have removed anything yet"; cl.appendChild(li); }

    const methods = {};
    s.resolution.forEach((r) => {
      const m = methods[r.method] || (methods[r.method] = { success: 0, failed: 0 });
      m[r.outcome === "success" ? "success" : "failed"] += r.count;
    });
    $("resolution").tBodies[0].replaceChildren(...Object.keys(methods).sort().map((k) => {
      const m = methods[k], total = m.success + m.failed;
      return row([k, m.success, m.failed, total ? (100 * m.success / total).toFixed(1) + "%" : "–"]);
    }));
    $("updated").textContent = "Last update " + new Date(s.generated_at).toLocaleTimeString() + ".";
  }

  async function refresh() {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    try {
      const r = await fetch("/api/v1/ops/stats", { headers });
      if (r.status === 401 || r.status === 403) { $("token-box").hidden = false; return; }
      if (!r.ok) throw new Error("HTTP " + r.status);
      $("message").hidden = true;
      render(await r.json());
    } catch (e) {
      $("message").textContent = "Cannot load the statistics: " + e.message;
      $("message").hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      token = $("token").value.trim();
      sessionStorage.setItem("maplink-ops-token", token);
      $("token-box").hidden = true;
      refresh();
    });
    refresh();
    setInterval(refresh, 2000);
  });
})();
