// minikafka console: polls the JSON API once a second and redraws what changed.
// Plain JavaScript, no build step, no library.
"use strict";

const POLL_MS = 1000;
const HISTORY_MS = 2000;
let lastEventSeq = 0;
const drawn = {};  // table id -> the JSON it was drawn from (redraw only on change)

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

function redraw(id, data, fill) {
  const key = JSON.stringify(data);
  if (drawn[id] === key) return;
  drawn[id] = key;
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...fill(data));
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// -- brokers -----------------------------------------------------------------

function brokerRows(state) {
  return state.brokers.map((b) => {
    const role = b.controller ? el("span", { class: "badge controller" }, "controller") : "";
    const metrics = b.metrics_url ? el("a", { href: b.metrics_url, target: "_blank" }, "/metrics") : "";
    const buttons = ["kill", "pause", "resume", "restart"].map((action) =>
      el("button", { "data-action": action, "data-broker": String(b.id) }, action));
    return el("tr", { "data-broker-id": String(b.id) },
      el("td", {}, String(b.id)), el("td", {}, `${b.host}:${b.port}`),
      el("td", { class: `state ${b.state}` }, b.state), el("td", {}, role), el("td", {}, metrics),
      el("td", { class: "controls" }, ...buttons));
  });
}

function drawLinkControls(state) {
  const ids = state.brokers.map((b) => b.id);
  for (const [selectId, pick] of [["link-a", 0], ["link-b", 1]]) {
    const select = document.getElementById(selectId);
    const current = select.value;
    if (select.options.length !== ids.length) {
      select.replaceChildren(...ids.map((id) => el("option", { value: String(id) }, String(id))));
      select.value = current || String(ids[Math.min(pick, ids.length - 1)] ?? "");
    }
  }
  const cuts = (state.faults && state.faults.cut) || [];
  const pairs = cuts.filter(([a, b]) => a !== 0 && a < b).map(([a, b]) => `${a}↔${b}`);
  document.getElementById("faults").textContent = pairs.length ? `cut: ${pairs.join(", ")}` : "";
}

async function act(url) {
  const result = document.getElementById("action-result");
  result.className = "";
  result.textContent = `${url} …`;
  try {
    const response = await fetch(url, { method: "POST" });
    const answer = await response.json();
    result.textContent = answer.ok ? `${url}: done` : `${url}: ${answer.error}`;
    if (!answer.ok) result.className = "error";
  } catch (error) {
    result.textContent = `${url}: ${error}`;
    result.className = "error";
  }
  refreshState();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.action && button.dataset.broker) {
    act(`/api/brokers/${button.dataset.broker}/${button.dataset.action}`);
  } else if (button.dataset.linkAction) {
    const a = document.getElementById("link-a").value;
    const b = document.getElementById("link-b").value;
    act(`/api/links/${a}/${b}/${button.dataset.linkAction}`);
  }
});

// -- topics and partitions ---------------------------------------------------

function partitionRows(topics) {
  const rows = [];
  for (const topic of topics) {
    for (const p of topic.partitions) {
      const health = p.offline ? "offline" : p.under_replicated ? "under-replicated" : "ok";
      rows.push(el("tr", { "data-topic": topic.name, "data-partition": String(p.partition),
        class: p.offline ? "offline" : p.under_replicated ? "under-replicated" : "" },
        el("td", {}, topic.name), el("td", {}, String(p.partition)),
        el("td", {}, p.leader >= 0 ? String(p.leader) : "none"),
        el("td", {}, p.replicas.join(",")), el("td", {}, p.isr.join(",")), el("td", {}, health)));
    }
  }
  return rows;
}

// -- consumer groups ---------------------------------------------------------

let lagHistory = {};  // "group/topic/partition" -> [{t, lag}]

function groupRows(groups) {
  const rows = [];
  for (const g of groups) {
    if (!g.lag.length) {
      rows.push(el("tr", { "data-group": g.group_id }, el("td", {}, g.group_id), el("td", {}, g.state),
        el("td", { colSpan: 7 }, `${g.members.length} member(s), no partitions`)));
    }
    for (const row of g.lag) {
      const member = g.members.find((m) => m.member_id === row.member_id);
      rows.push(el("tr", { "data-group": g.group_id, "data-topic": row.topic, "data-partition": String(row.partition) },
        el("td", {}, g.group_id), el("td", {}, g.state), el("td", {}, row.topic), el("td", {}, String(row.partition)),
        el("td", {}, member ? `${member.client_id} (${member.host})` : "-"),
        el("td", {}, row.committed ?? "-"), el("td", {}, row.end ?? "-"),
        el("td", { class: "lag" }, row.lag ?? "-"),
        el("td", { class: "spark", "data-key": `${g.group_id}/${row.topic}/${row.partition}` })));
    }
  }
  return rows;
}

function drawSparklines() {
  for (const cell of document.querySelectorAll("#groups td.spark")) {
    const points = lagHistory[cell.dataset.key] || [];
    cell.replaceChildren(svgChart(points.map((p) => [p.t, p.lag ?? 0]), "spark", ""));
  }
}

// -- charts ------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svgChart(series, svgClass, lineClass, more) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", svgClass);
  svg.setAttribute("viewBox", "0 0 300 60");
  svg.setAttribute("preserveAspectRatio", "none");
  const all = [series, ...(more || []).map((m) => m[0])].flat();
  if (all.length < 2) return svg;
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const line = (points, cls) => {  // each line on its own scale: 0 to its peak
    const top = Math.max(1, ...points.map((p) => p[1]));
    const polyline = document.createElementNS(SVG, "polyline");
    polyline.setAttribute("class", cls);
    polyline.setAttribute("points", points.map(([t, v]) =>
      `${((t - t0) / Math.max(1, t1 - t0) * 300).toFixed(1)},${(58 - v / top * 56).toFixed(1)}`).join(" "));
    svg.append(polyline);
  };
  line(series, lineClass);
  for (const [points, cls] of more || []) line(points, cls);
  return svg;
}

function rate(value, unit) {
  if (value === null || value === undefined) return "-";
  return value >= 1000 ? `${(value / 1000).toFixed(1)}k ${unit}/s` : `${value.toFixed(1)} ${unit}/s`;
}

function drawThroughput(history, state) {
  const box = document.getElementById("throughput");
  const byName = Object.fromEntries(state.topics.map((t) => [t.name, t]));
  box.replaceChildren(...history.throughput.map((series) => {
    const now = byName[series.topic] || {};
    const messages = series.points.map((p) => [p.t, p.messages_in_rate ?? 0]);
    const bytes = series.points.filter((p) => p.bytes_in_rate !== null).map((p) => [p.t, p.bytes_in_rate]);
    const peak = Math.max(0, ...messages.map((p) => p[1]));
    return el("div", { class: "chart", "data-topic": series.topic },
      el("div", { class: "title" },
        `${series.topic}: ${rate(now.messages_in_rate, "msg")} in, ${rate(now.bytes_in_rate, "B")} in, ` +
        `${rate(now.bytes_out_rate, "B")} out (blue: messages in, peak ${rate(peak, "msg")}; green: bytes in; each to its own scale)`),
      svgChart(messages, "", "messages", bytes.length ? [[bytes, "bytes"]] : []));
  }));
}

// -- the loops ---------------------------------------------------------------

let lastState = null;

async function refreshState() {
  try {
    const state = await getJson("/api/state");
    lastState = state;
    document.body.classList.toggle("no-controls", !state.controls);
    document.getElementById("links").hidden = !state.links;  // no proxies: no cut/heal
    redraw("brokers", state.brokers, () => brokerRows(state));
    drawLinkControls(state);
    redraw("partitions", state.topics.map((t) => [t.name, t.partitions]), () => partitionRows(state.topics));
    redraw("groups", state.groups, () => groupRows(state.groups));
    drawSparklines();
    const up = state.brokers.filter((b) => b.state === "alive").length;
    document.getElementById("status").textContent =
      `${up}/${state.brokers.length} brokers alive, controller ${state.controller_id >= 0 ? state.controller_id : "none"}, ` +
      `updated ${new Date(state.time_ms).toLocaleTimeString()}`;
  } catch (error) {
    document.getElementById("status").textContent = `console unreachable: ${error.message}`;
  }
}

async function refreshEvents() {
  try {
    const answer = await getJson(`/api/events?after=${lastEventSeq}`);
    const list = document.getElementById("events");
    for (const event of answer.events) {
      lastEventSeq = Math.max(lastEventSeq, event.seq);
      const time = new Date(event.time_ms).toLocaleTimeString();
      list.prepend(el("li", { class: event.type, "data-type": event.type },
        el("span", { class: "time" }, time), event.message));
    }
    while (list.children.length > 300) list.lastChild.remove();
  } catch (error) { /* the status line shows it */ }
}

async function refreshHistory() {
  try {
    const history = await getJson("/api/history");
    lagHistory = {};
    for (const series of history.lag) {
      lagHistory[`${series.group_id}/${series.topic}/${series.partition}`] = series.points;
    }
    if (lastState) drawThroughput(history, lastState);
    drawSparklines();
  } catch (error) { /* the status line shows it */ }
}

function every(ms, task) {
  const loop = async () => { await task(); setTimeout(loop, ms); };
  loop();
}

every(POLL_MS, refreshState);
every(POLL_MS, refreshEvents);
every(HISTORY_MS, refreshHistory);
