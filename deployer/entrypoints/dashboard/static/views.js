// Building the views from API documents. Every value from the API goes in as text (text nodes,
// textContent, attributes), never as HTML. A status is always shown as a word with a symbol;
// colour only repeats it.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (name === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    else node.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false).map(asNode));
  return node;
}

const asNode = (child) => (child instanceof Node ? child : document.createTextNode(String(child)));

// The symbol and the tone of each status; an unknown status is shown as its word alone.
const LOOKS = {
  pending: ["…", "busy"], creating: ["⟳", "busy"], verifying: ["⟳", "busy"], canary: ["◐", "busy"],
  active: ["✓", "good"], verified: ["✓", "good"], promoted: ["→", "good"], traffic_shifted: ["◐", "busy"],
  unhealthy: ["✗", "bad"], failed: ["✗", "bad"], timed_out: ["⏱", "bad"], refused: ["⊘", "bad"],
  rolled_back: ["↩", "bad"], skipped: ["–", "quiet"], superseded: ["–", "quiet"], ignored: ["–", "quiet"],
  dead: ["✗", "bad"], delivered: ["✓", "good"], paused: ["⏸", "bad"],
  awaiting_approval: ["⚑", "busy"], approved: ["✓", "good"], rejected: ["✗", "bad"],
};

export function badge(status, label = status) {
  const [symbol, tone] = LOOKS[status] || ["•", "quiet"];
  return el("span", { className: `status tone-${tone}`, data: { status } },
    el("span", { "aria-hidden": "true" }, symbol), " ", label);
}

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const CLOCK = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
export const zone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function when(value, clockOnly = false) {
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return el("span", {}, String(value));
  return el("time", { datetime: date.toISOString() }, (clockOnly ? CLOCK : TIME).format(date));
}

const short = (digest) => (digest && digest.length > 19 ? `${digest.slice(0, 19)}…` : digest);
const version = (d) => (d && d.version ? `version ${d.version}` : "no version yet");
const deploymentLink = (id, text) => el("a", { href: `#deployment/${encodeURIComponent(id)}` }, text || id);

function button(label, handler, extra = {}) {
  return el("button", { type: "button", on: { click: handler }, ...extra }, label);
}

// -- approvals ---------------------------------------------------------------------------------

// The approval a deployment waits for now (its own, or its canary's step), or null.
export function waitingApproval(d) {
  const approval = d && d.approval;
  return approval && approval.decision === null && (d.status === "awaiting_approval" || d.status === "canary") ? approval : null;
}

// What waits, until when, and (for a caller who may decide) Approve and Reject.
export function approvalBlock(d, can, act) {
  const approval = waitingApproval(d);
  if (!approval) return null;
  const what = approval.step === null ? `${d.image}, nothing created yet` : `the canary's next step (${d.image})`;
  return el("div", { className: "approval", data: { approval: d.id } },
    el("p", {}, badge("awaiting_approval", "Awaiting approval"), ` ${what}; expires `, when(approval.expires_at),
      approval.approvers.length ? ` · approvers: ${approval.approvers.join(", ")}` : ""),
    can && el("div", { className: "actions" },
      button("Approve", () => act.approve(d), { className: "primary", "data-focus": "approve" }),
      button("Reject", () => act.reject(d), { className: "danger", "data-focus": "reject" })));
}

function decisionLine(approval) {
  if (!approval || approval.decision === null) return null;
  const by = approval.by ? ` by ${approval.by}` : "";
  const at = approval.at ? [" at ", when(approval.at)] : "";
  return el("p", {}, badge(approval.decision === "approved" ? "approved" : "rejected", `Approval ${approval.decision}`),
    by, at, approval.comment ? ` — ${approval.comment}` : "");
}

// -- agents ------------------------------------------------------------------------------------

// The traffic split: the canary's share and the stable version's, or one serving version at 100%.
export function trafficBar(active, canary) {
  const parts = canary
    ? [
        { version: canary.version, share: canary.canary.percentage, role: "canary" },
        { version: canary.canary.stable, share: 100 - canary.canary.percentage, role: "stable" },
      ]
    : active && active.version ? [{ version: active.version, share: 100, role: "serving" }] : [];
  if (!parts.length) return el("p", { className: "quiet" }, "No version serves this agent yet.");
  const words = parts.map((p) => `version ${p.version} ${p.share}% (${p.role})`).join(", ");
  const bar = el("div", { className: "bar", role: "img", "aria-label": `Traffic: ${words}` },
    parts.filter((p) => p.share > 0).map((p) => {
      const name = /^\d+$/.test(p.version) ? `v${p.version}` : p.version;
      const segment = el("span", { className: `segment segment-${p.role}` }, `${name} ${p.share}%`);
      segment.style.flexBasis = `${p.share}%`;
      return segment;
    }));
  return el("div", { className: "traffic", data: { version: parts[0].version, share: parts[0].share } },
    bar, el("p", { className: "legend" }, words));
}

function canaryLine(canary, can, act) {
  const state = canary.canary;
  const next = state.promote
    ? el("span", {}, `promotion requested${state.promoted_by ? ` by ${state.promoted_by}` : ""}`)
    : el("span", {}, "next step at ", when(state.next_at, true));
  return el("div", { className: "canary" },
    el("p", {}, badge("canary"), ` step ${state.step + 1} at ${state.percentage}%; `, next, " · ",
      deploymentLink(canary.id, "deployment")),
    can && el("div", { className: "actions" },
      button("Promote canary", () => act.promote(canary)),
      button("Abort canary", () => act.abort(canary), { className: "danger" })));
}

function holdsList(agent, holds, can, act) {
  if (!holds.items.length) return el("p", { className: "quiet" }, "No held digests.");
  return el("ul", { className: "holds" }, holds.items.map((hold) =>
    el("li", {},
      el("code", { title: hold.digest }, short(hold.digest)), ` ${hold.reason}, `, when(hold.at),
      hold.by ? ` by ${hold.by}` : "",
      can && button("Unhold", () => act.unhold(agent.name, hold.digest), { "aria-label": `Unhold ${hold.digest}` }))));
}

export function agentCard({ agent, holds, last, canary, waiting }, can, act, canDecide = can) {
  const paused = holds.paused || agent.paused;
  const active = agent.active;
  return el("article", { className: "card", data: { agent: agent.name } },
    el("header", {},
      el("h3", {}, agent.name),
      paused ? badge("paused", "Paused") : badge("active", "Taking pushes"),
      el("span", { className: "quiet" }, `rollout: ${agent.rollout}`)),
    el("p", {}, "Serving: ", active ? `${version(active)} (${active.image})` : "nothing yet"),
    trafficBar(active, canary),
    canary && canaryLine(canary, can, act),
    waiting && approvalBlock(waiting, canDecide, act),
    canary && approvalBlock(canary, canDecide, act),
    el("p", { className: "last" }, "Last deployment: ",
      last ? [badge(last.status), " ", last.image, " ", when(last.created_at), " · ", deploymentLink(last.id, "details")]
        : "none"),
    el("h4", {}, "Held digests"),
    holdsList(agent, holds, can, act),
    can && el("div", { className: "actions" },
      paused ? button("Resume", () => act.resume(agent.name), { "data-focus": "pause" })
        : button("Pause", () => act.pause(agent.name), { "data-focus": "pause" }),
      button("Roll back", () => act.rollback(agent.name), { className: "danger" })));
}

// -- deployments -------------------------------------------------------------------------------

function step(entry) {
  const label = entry.status === "traffic_shifted" ? `canary ${entry.percentage}%` : entry.status;
  return el("li", {}, badge(entry.status, label), " ", when(entry.at), entry.note ? ` — ${entry.note}` : "");
}

function smokeBlock(smoke) {
  const facts = [`${smoke.attempts} attempt(s)`];
  if (smoke.http_status) facts.push(`HTTP ${smoke.http_status}`);
  if (smoke.latency_ms !== null && smoke.latency_ms !== undefined) facts.push(`${Math.round(smoke.latency_ms)} ms`);
  return el("div", { className: "smoke" },
    el("h4", {}, "Smoke test"),
    el("p", {}, badge(smoke.status), ` ${facts.join(", ")}`),
    smoke.detail && el("p", {}, smoke.detail),
    smoke.excerpt && el("pre", {}, smoke.excerpt));
}

function errorBlock(error) {
  return el("div", { className: "error" },
    el("h4", {}, "Error"),
    el("p", {}, el("code", {}, error.code), ` ${error.message}`),
    error.hint && el("p", {}, el("strong", {}, "What to do: "), error.hint));
}

// One deployment: a summary line that expands (keyboard: Enter or Space) to its details.
export function deploymentRow(d, can = false, act = null) {
  return el("li", { className: "row", data: { id: d.id, agent: d.agent, status: d.status } },
    el("details", {},
      el("summary", { data: { focus: "summary" } },
        badge(d.status), " ", el("strong", {}, d.agent), " ", el("span", { className: "image" }, d.image), " ",
        el("span", { className: "quiet" }, `${version(d)} · ${d.source} · `), when(d.created_at)),
      el("div", { className: "detail" }, deploymentDetail(d, can, act))));
}

function deploymentDetail(d, can, act) {
  const facts = [
    ["Deployment", d.id], ["Rollout", d.rollout], ["Requested by", d.requested_by], ["Reason", d.reason],
    ["Digest", d.digest], ["Time to active", d.time_to_active_s ? `${d.time_to_active_s.toFixed(1)} s` : null],
  ].filter(([, value]) => value);
  return [
    el("dl", {}, facts.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
    (d.promoted_to || d.promoted_from) && el("p", {},
      d.promoted_from ? ["Promoted from ", deploymentLink(d.promoted_from), ". "] : "",
      d.promoted_to ? ["Promoted to ", deploymentLink(d.promoted_to), "."] : ""),
    approvalBlock(d, Boolean(can && act), act),
    decisionLine(d.approval),
    d.error && errorBlock(d.error),
    d.smoke && smokeBlock(d.smoke),
    el("h4", {}, "History"),
    el("ol", { className: "timeline" }, d.history.map(step)),
  ];
}

// -- notifications -----------------------------------------------------------------------------

export function notificationRow(n, can, act) {
  const to = `${n.subscriber.format} ${n.subscriber.host || "(subscriber removed)"}`;
  return el("li", { className: "row", data: { id: n.id } },
    el("p", {}, badge(n.state), " ", el("strong", {}, n.type), ` for ${n.agent} to ${to}`),
    el("p", { className: "quiet" }, `${n.attempts} attempt(s), last result ${n.last_result || "none"}`,
      n.last_attempt_at ? [" at ", when(n.last_attempt_at)] : "", " · ", deploymentLink(n.deployment_id, "deployment")),
    can && el("div", { className: "actions" }, button("Redeliver", () => act.redeliver(n))));
}
