// The dashboard: three views over the API, refreshed every few seconds without reloading the
// page (?refresh=N sets the seconds, 1 to 60). Actions ask for confirmation, then say what came
// of them in a status line.

import { ApiError, call, key, query, segment } from "./api.js";
import * as views from "./views.js";

const $ = (id) => document.getElementById(id);
const requested = Number(new URLSearchParams(location.search).get("refresh"));
const EVERY_S = Number.isFinite(requested) && requested >= 1 && requested <= 60 ? requested : 3;
// canDecide: approvals may list approvers who lack the write role; the API says who may decide.
const state = { view: "agents", canWrite: false, canDecide: false, agents: [], timer: null, needKey: false };

// -- refreshing --------------------------------------------------------------------------------

async function loadAgents() {
  const [{ items: agents }, { items: canaries }, { items: waiting }] = await Promise.all([
    call("/api/agents"),
    call(query("/api/deployments", { status: "canary", limit: 200 })),
    call(query("/api/deployments", { status: "awaiting_approval", limit: 200 })),
  ]);
  state.agents = agents;
  fillAgentFilter(agents);
  if (state.view !== "agents") return;
  const cards = await Promise.all(agents.map(async (agent) => {
    const [holds, recent] = await Promise.all([
      call(`/api/agents/${segment(agent.name)}/holds`),
      call(query("/api/deployments", { agent: agent.name, limit: 1 })),
    ]);
    const canary = canaries.find((d) => d.agent === agent.name && d.canary) || null;
    const pending = waiting.find((d) => d.agent === agent.name) || null;
    const parts = { agent, holds, last: recent.items[0] || null, canary, waiting: pending };
    return entry(agent.name, [parts, state.canDecide], () => views.agentCard(parts, state.canWrite, actions, state.canDecide));
  }));
  sync($("agent-cards"), cards, views.el("p", {}, "No agents are configured."));
}

async function loadDeployments() {
  const params = { agent: $("filter-agent").value, status: $("filter-status").value, limit: 50 };
  const { items } = await call(query("/api/deployments", params));
  const rows = items.map((d) => entry(d.id, d.updated_at + d.status, () => views.deploymentRow(d, state.canDecide, actions)));
  sync($("deployment-rows"), rows, views.el("li", { className: "quiet" }, "No deployments match."));
}

async function loadNotifications() {
  const { items } = await call(query("/api/notifications", { state: "dead", limit: 50 }));
  const rows = items.map((n) => entry(n.id, n, () => views.notificationRow(n, state.canWrite, actions)));
  sync($("notification-rows"), rows, views.el("li", { className: "quiet" }, "No dead notifications."));
}

const LOADERS = { agents: loadAgents, deployments: loadDeployments, notifications: loadNotifications };

async function refresh() {
  clearTimeout(state.timer);
  try {
    if (!state.needKey && !document.hidden) {
      if (state.view !== "agents" && !state.agents.length) await loadAgents();
      await LOADERS[state.view]();
      $("banner").hidden = true;
      $("freshness").textContent = `Updated ${new Date().toLocaleTimeString()} · every ${EVERY_S} s · times in ${views.zone()}`;
    }
  } catch (error) {
    failed(error);
  } finally {
    state.timer = setTimeout(refresh, EVERY_S * 1000);
  }
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) return askForKey(key.get() ? "The key was refused." : null);
  $("banner").textContent = `Could not read the API: ${error.message}`;
  $("banner").hidden = false;
}

// -- keeping what the viewer was doing across refreshes ----------------------------------------

// A node per key, built again only when what it shows changed (``sig``).
const entry = (key, shows, render) => ({ key, sig: typeof shows === "string" ? shows : JSON.stringify([shows, state.canWrite]), render });

// Put the entries in ``container``, reusing unchanged nodes; an open row stays open and the
// focused control keeps the focus (found again by its row and its data-focus or label).
function sync(container, entries, empty) {
  const old = new Map([...container.children].filter((n) => n.dataset.key).map((n) => [n.dataset.key, n]));
  const focus = focusOf(container);
  const nodes = entries.map(({ key: id, sig, render }) => {
    const previous = old.get(id);
    if (previous && previous.dataset.sig === sig) return previous;
    const node = render();
    Object.assign(node.dataset, { key: id, sig });
    const wasOpen = previous && previous.querySelector("details[open]");
    if (wasOpen) node.querySelector("details").open = true;
    return node;
  });
  const current = [...container.children];
  if (nodes.length && nodes.length === current.length && nodes.every((n, i) => n === current[i])) return;
  container.replaceChildren(...(nodes.length ? nodes : [empty]));
  if (focus) restoreFocus(container, focus);
}

const handle = (node) => node.dataset.focus || node.textContent;

function focusOf(container) {
  const active = document.activeElement;
  const row = active && container.contains(active) ? active.closest("[data-key]") : null;
  return row ? { key: row.dataset.key, handle: handle(active) } : null;
}

function restoreFocus(container, { key: id, handle: wanted }) {
  const row = [...container.children].find((n) => n.dataset.key === id);
  const target = row && [...row.querySelectorAll("button, summary, a")].find((n) => handle(n) === wanted);
  if (target) target.focus();
}

async function showDeployment(id) {
  const box = $("focused");
  try {
    const d = await call(`/api/deployments/${segment(id)}`);
    const row = views.deploymentRow(d, state.canDecide, actions);
    row.querySelector("details").open = true;
    box.replaceChildren(views.el("h3", {}, "Linked deployment"), views.el("ol", { className: "rows" }, row),
      views.el("button", { type: "button", on: { click: () => box.replaceChildren() } }, "Close"));
    row.querySelector("summary").focus();
  } catch (error) {
    failed(error);
  }
}

function fillAgentFilter(agents) {
  const select = $("filter-agent");
  const names = agents.map((a) => a.name);
  const have = [...select.options].slice(1).map((o) => o.value);
  if (names.join("\n") === have.join("\n")) return;
  const chosen = select.value;
  select.replaceChildren(select.options[0], ...names.map((n) => views.el("option", { value: n }, n)));
  select.value = names.includes(chosen) ? chosen : "";
}

async function fillStatusFilter() {
  if ($("filter-status").options.length > 1) return;
  const doc = await call("/api/openapi.json");
  const statuses = doc.components.schemas.Deployment.properties.status.enum;
  $("filter-status").append(...statuses.map((s) => views.el("option", { value: s }, s)));
}

// -- actions -----------------------------------------------------------------------------------

// Asks ``text``; with ``reason``, also for a reason (required), which the answer carries.
function confirmed(text, { reason = false } = {}) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-reason-field").hidden = !reason;
  $("confirm-reason").required = reason;
  $("confirm-reason").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  (reason ? $("confirm-reason") : $("confirm-cancel")).focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? { reason: $("confirm-reason").value.trim() } : null), { once: true });
  });
}

async function act(question, request, done, options = {}) {
  const answered = await confirmed(question, options);
  if (!answered) return;
  const result = $("result");
  try {
    const answer = await request(answered);
    result.textContent = done(answer);
    result.className = "result tone-good";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return failed(error);
    result.textContent = `Not done: ${error.message}`;
    result.className = "result tone-bad";
  }
  refresh();
}

const post = (path, body) => () => call(path, { method: "POST", body, idempotent: path.endsWith("/rollback") });
const waitsFor = (d) => (d.approval && d.approval.step !== null ? `the next canary step of ${d.agent}` : `${d.agent} ${d.image}`);

const actions = {
  pause: (agent) => act(`Pause ${agent}? Pushes will be skipped until it is resumed.`,
    post(`/api/agents/${segment(agent)}/pause`), () => `${agent} is paused.`),
  resume: (agent) => act(`Resume ${agent}? Pushes will deploy again.`,
    post(`/api/agents/${segment(agent)}/resume`), () => `${agent} takes pushes again.`),
  rollback: (agent) => act(`Roll ${agent} back to the deployment that served before the current one?`,
    post(`/api/agents/${segment(agent)}/rollback`), (d) => `Rollback of ${agent} started: deployment ${d.id}, ${d.status}.`),
  unhold: (agent, digest) => act(`Release the hold on ${digest} for ${agent}? Pushes of it will deploy again.`,
    post(`/api/agents/${segment(agent)}/holds/${segment(digest)}/release`),
    (r) => (r.released ? `${digest} is no longer held.` : `${digest} was not held.`)),
  promote: (d) => act(`Promote the canary of ${d.agent} version ${d.version} to all traffic now?`,
    post(`/api/deployments/${segment(d.id)}/promote`), () => `Promotion of ${d.agent} version ${d.version} requested.`),
  abort: (d) => act(`Abort the canary of ${d.agent} version ${d.version}? All traffic goes back to version ${d.canary.stable}.`,
    post(`/api/deployments/${segment(d.id)}/abort`), (r) => `Canary of ${d.agent} ${r.status}.`),
  approve: (d) => act(`Approve ${waitsFor(d)}? It goes ahead at once.`,
    post(`/api/deployments/${segment(d.id)}/approve`), (r) => `Approved: ${r.agent} deployment ${r.id} is ${r.status}.`),
  reject: (d) => act(`Reject ${waitsFor(d)}? Give a reason; it is recorded and notified.`,
    ({ reason }) => call(`/api/deployments/${segment(d.id)}/reject`, { method: "POST", body: { reason } }),
    (r) => `Rejected: ${r.agent} deployment ${r.id} is ${r.status}.`, { reason: true }),
  redeliver: (n) => act(`Send ${n.type} for ${n.agent} to ${n.subscriber.host || n.subscriber.format} again?`,
    post(`/api/notifications/${segment(n.id)}/redeliver`), (r) => `Redelivery queued (${r.state}).`),
};

// -- navigation and the key --------------------------------------------------------------------

function route() {
  const hash = location.hash.slice(1);
  const linked = hash.startsWith("deployment/") ? decodeURIComponent(hash.slice("deployment/".length)) : null;
  state.view = linked ? "deployments" : LOADERS[hash] ? hash : "agents";
  for (const section of document.querySelectorAll("main section[data-view]")) section.hidden = section.dataset.view !== state.view;
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    if (link.dataset.view === state.view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (linked) showDeployment(linked);
  refresh();
}

function askForKey(why) {
  state.needKey = true;
  $("key-reason").textContent = why || "";
  $("key-form").hidden = false;
  $("key-input").focus();
}

async function start() {
  await call("/api/caller").then((caller) => {
    // Approve and Reject for a caller who may write or is signed in (listed approvers need not
    // hold the write role); the API refuses anyone else with a 403 the result line shows.
    state.canWrite = caller.can_write;
    state.canDecide = caller.can_write || caller.signed_in;
  });
  await fillStatusFilter();
}

async function begin() {
  if (key.get() === null) return askForKey(null);
  try {
    await start();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return askForKey(key.get() ? "The key was refused." : null);
    failed(error);
  }
  route();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  key.set($("key-input").value.trim());
  $("key-input").value = "";
  $("key-form").hidden = true;
  $("forget-key").hidden = false;
  state.needKey = false;
  begin();
});
$("forget-key").addEventListener("click", () => { key.forget(); location.reload(); });
$("forget-key").hidden = key.get() === null;
$("confirm-ok").addEventListener("click", () => {
  if ($("confirm-reason").required && !$("confirm-reason").value.trim()) return $("confirm-reason").reportValidity();
  $("confirm").close("ok");
});
$("confirm-cancel").addEventListener("click", () => $("confirm").close("cancel"));
$("confirm-reason").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); $("confirm-ok").click(); }
});
$("filter-agent").addEventListener("change", refresh);
$("filter-status").addEventListener("change", refresh);
window.addEventListener("hashchange", route);
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
begin();
