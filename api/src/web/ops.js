// The ops dashboard: polls /api/v1/ops/stats and the dead list and renders them; the
// dead-job buttons act through /api/v1/ops/dead-jobs. Values go on the page as text
// only.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  // The token comes from the form only, kept for this tab: a token in the page's URL
  // would end up in browser history and proxy logs.
  let token = sessionStorage.getItem("maplink-ops-token");

  const authHeaders = () => (token ? { Authorization: "Bearer " + token } : {});

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

  // "4.2 s", "37 s", "12 min 5 s", "3 h 20 min": a wait at a glance.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return null;
    if (seconds < 10) return seconds.toFixed(1) + " s";
    const s = Math.round(seconds);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
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
    text("q-wait", duration(q.oldest_pending_seconds));
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

  // The dead list as last drawn: it is redrawn only when it changes, so that a button
  // is not replaced under the pointer between two polls.
  let deadDrawn = null;
  // An action is running: the buttons stay disabled and polls leave the list alone.
  let acting = false;

  function deadStatus(message, isError) {
    const el = $("dead-status");
    el.textContent = message;
    el.className = isError ? "message" : "message info";
    el.hidden = false;
  }

  function button(label, action, taskId, secondary, disabledWhy) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.task = taskId;
    if (secondary) b.className = "secondary";
    if (disabledWhy) { b.disabled = true; b.title = disabledWhy; }
    return b;
  }

  function renderDead(list) {
    const jobs = list.dead_jobs;
    const drawn = JSON.stringify([list.count, jobs.map((j) => j.task_id)]);
    if (drawn === deadDrawn) return;
    deadDrawn = drawn;
    text("dead-count", jobs.length < list.count ? "Showing the newest " + jobs.length + " of " + list.count + "." : "");
    const tb = $("dead-jobs").tBodies[0];
    tb.replaceChildren(...jobs.map((j) => {
      // The session's handle, never its id: the id is the session's only protection.
      const session = j.session || "unreadable payload";
      const tr = row([session, j.run, j.attempts, j.error, new Date(j.died_at).toLocaleString()],
        [j.session ? null : "null"]);
      tr.dataset.task = j.task_id;
      tr.cells[0].title = "task " + j.task_id;
      tr.cells[3].title = j.error;
      const actions = document.createElement("td");
      actions.append(
        button("Retry", "retry", j.task_id, false, j.session ? null : "The payload cannot be read: there is no session to run again"),
        " ",
        button("Delete", "delete", j.task_id, true, null));
      tr.appendChild(actions);
      return tr;
    }));
    if (jobs.length === 0) {
      const empty = row(["no dead jobs"]);
      empty.cells[0].colSpan = 6;
      tb.appendChild(empty);
    }
    $("dead-retry-all").disabled = jobs.length === 0;
    $("dead-delete-all").disabled = jobs.length === 0;
  }

  // Sends an ops request; answers the parsed body (null when there is none) or throws
  // with the API's message.
  // Actions are declared JSON: the API refuses operator actions a plain form could send.
  async function call(method, path) {
    const headers = Object.assign({ "Content-Type": "application/json" }, authHeaders());
    const r = await fetch(path, { method, headers, body: "{}" });
    if (r.status === 401 || r.status === 403) $("token-box").hidden = false;
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) throw new Error((body && body.error) || "HTTP " + r.status);
    return body;
  }

  async function act(what) {
    if (acting) return;
    acting = true;
    $("dead-panel").querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      deadStatus(await what(), false);
    } catch (e) {
      deadStatus(e.message, true);
    } finally {
      acting = false;
      deadDrawn = null;
      refresh();
    }
  }

  const deadPath = (taskId) => "/api/v1/ops/dead-jobs/" + encodeURIComponent(taskId);

  function retryOne(taskId) {
    act(async () => {
      const r = await call("POST", deadPath(taskId) + "/retry");
      return "Session " + r.session + " is queued again (task " + r.task_id + ").";
    });
  }

  function deleteOne(taskId) {
    if (!window.confirm("Delete dead job " + taskId + "? It cannot be retried afterwards.")) return;
    act(async () => {
      await call("DELETE", deadPath(taskId));
      return "Dead job " + taskId + " deleted.";
    });
  }

  function retryAll() {
    act(async () => {
      const r = await call("POST", "/api/v1/ops/dead-jobs/retry");
      const left = r.skipped.map((s) => s.task_id + " (" + s.code.replace(/_/g, " ") + ")");
      return "Retried " + r.retried + "." + (left.length ? " Left: " + left.join(", ") + "." : "");
    });
  }

  function deleteAll() {
    if (!window.confirm("Delete all dead jobs? They cannot be retried afterwards.")) return;
    act(async () => {
      const r = await call("DELETE", "/api/v1/ops/dead-jobs");
      return "Deleted " + r.deleted + " dead jobs.";
    });
  }

  async function refresh() {
    try {
      const [stats, dead] = await Promise.all([
        fetch("/api/v1/ops/stats", { headers: authHeaders() }),
        fetch("/api/v1/ops/dead-jobs", { headers: authHeaders() }),
      ]);
      if ([stats, dead].some((r) => r.status === 401 || r.status === 403)) { $("token-box").hidden = false; return; }
      if (!stats.ok) throw new Error("HTTP " + stats.status);
      $("message").hidden = true;
      render(await stats.json());
      if (!dead.ok) throw new Error("HTTP " + dead.status + " from the dead list");
      if (!acting) renderDead(await dead.json());
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
    $("dead-jobs").tBodies[0].addEventListener("click", (e) => {
      const b = e.target.closest("button[data-action]");
      if (!b || b.disabled) return;
      if (b.dataset.action === "retry") retryOne(b.dataset.task); else deleteOne(b.dataset.task);
    });
    $("dead-retry-all").addEventListener("click", retryAll);
    $("dead-delete-all").addEventListener("click", deleteAll);
    refresh();
    setInterval(refresh, 2000);
  });
})();
