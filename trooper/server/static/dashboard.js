// The dashboard: every session, its SITREP, providers, events and transcript, kept live by api/live.
import {
  api, counted, cutAtLimitNote, offerSignOut, el, followLiveFeed, formatCount, fullDate, providerSlot, renderSitrep, serverBaseURL,
  sessionFromHash, setRenderedHTML, setSessionHash, showDollars, timeAgo,
} from "./common.js";

const PAGE_SIZE = 50;
const SHORT_ID_CHARS = 8;
const RENDER_BATCH = 200; // the server's api/render limit per call
const REFRESH_DELAY_MS = 150; // coalesce bursts of live updates into one fetch

const $ = (id) => document.getElementById(id);
const layout = document.querySelector(".layout");

let sessions = [];
let sessionsWanted = PAGE_SIZE;
let selectedId = sessionFromHash();
let detailRequest = 0; // increases per load, so a slow older response never overwrites a newer one
// The turn a SITREP item's button marked ({ session, seq }): marked again when a live update redraws the transcript.
let evidenceTurn = null;
const renderedMarkdown = new Map(); // Markdown text → sanitised HTML from the server

// ---------- sessions list ----------

/** The rows of a list answer, whether it is a bare array or wrapped as {"<key>": [...], ...}. */
function listFrom(payload, key) {
  if (Array.isArray(payload)) return payload;
  return payload && Array.isArray(payload[key]) ? payload[key] : [];
}

async function loadSessions() {
  loadClientCosts();
  try {
    sessions = listFrom(await api(`sessions?limit=${sessionsWanted}&offset=0`), "sessions");
    $("sessions-error").hidden = true;
    $("load-more").hidden = sessions.length < sessionsWanted;
  } catch (error) {
    $("sessions-error").textContent = `Could not load sessions: ${error.message}`;
    $("sessions-error").hidden = false;
  }
  renderSessionList();
  showRightPane();
}

/** Dollars spent and avoided per client, over every session (not only the loaded ones). */
async function loadClientCosts() {
  let clients;
  try {
    clients = listFrom(await api("clients"), "clients");
  } catch (_) {
    return; // a summary: the sessions list says what is wrong, if anything is
  }
  const total = (field) => clients.reduce((sum, client) => sum + (Number(client[field]) || 0), 0);
  const summary = $("client-costs-summary");
  summary.replaceChildren("By client: ", el("strong"), " avoided · ", el("strong"), " spent");
  showDollars(summary.children[0], total("cost_avoided"), total("unpriced_turns"));
  showDollars(summary.children[1], total("cost_spent"), total("unpriced_turns"));
  $("client-costs-rows").replaceChildren(...clients.map((client) => {
    const spent = el("td");
    const avoided = el("td", { className: "avoided" });
    showDollars(spent, client.cost_spent, client.unpriced_turns);
    showDollars(avoided, client.cost_avoided, client.unpriced_turns);
    return el("tr", {}, el("th", { text: client.client, attrs: { scope: "row" } }), el("td", { text: formatCount(client.sessions) }), spent, avoided);
  }));
  $("client-costs").hidden = clients.length === 0;
}

function providerSummary(providers) {
  return Object.entries(providers || {}).sort((a, b) => b[1] - a[1]);
}

/** Who the session came from: its client (Claude Code, openai-python, chat page…), else its front door. */
function clientOf(session) {
  return session.client || session.source || "unknown";
}

/** An id short enough for a row: the kind prefix Trooper adds ("s-", "chat-") dropped, a long id cut. */
function shortId(id) {
  const core = String(id).replace(/^(s|chat)-/, "");
  return core.length <= SHORT_ID_CHARS + 4 ? core : core.slice(0, SHORT_ID_CHARS);
}

/** A row's headline: what the session is about, else how it began. */
function sessionTitle(session) {
  return session.intent || session.title || session.first_words || "No messages yet";
}

/** The first words under the headline, unless the headline already begins the same way. */
function firstWordsLine(session) {
  const words = session.first_words || "";
  if (!words || words.toLowerCase().startsWith(sessionTitle(session).toLowerCase())) return null;
  return el("span", { className: "session-first-words", text: `“${words}”` });
}

/** Whether a session passes the client filter and the search (over intent, title, first words, client, id). */
function matchesFilters(session) {
  const client = $("client-filter").value;
  if (client && clientOf(session) !== client) return false;
  const query = $("session-search").value.trim().toLowerCase();
  return !query || [session.intent, session.title, session.first_words, clientOf(session), session.id]
    .some((text) => String(text || "").toLowerCase().includes(query));
}

function sessionItem(session) {
  const mix = providerSummary(session.providers);
  const total = mix.reduce((sum, [, count]) => sum + count, 0) || 1;
  const button = el("button", {
    className: "session-item",
    attrs: { type: "button", "aria-current": session.id === selectedId ? "true" : "false", "data-session-id": session.id },
    on: { click: () => selectSession(session.id) },
  },
  el("span", { className: "session-intent", text: sessionTitle(session) }),
  firstWordsLine(session),
  el("span", { className: "session-line" },
    el("span", { className: "client-tag", text: clientOf(session) }),
    session.parent_id ? el("span", { className: "badge", text: "subagent" }) : null,
    privateBadge(session),
    el("span", { className: "session-short-id mono", text: shortId(session.id), attrs: { title: session.id } }),
    el("span", { text: counted(session.turn_count, "turn") }),
    el("span", { className: "saved", text: `${formatCount(session.tokens_saved)} saved` }),
    el("time", { text: timeAgo(session.last_activity), attrs: { title: fullDate(session.last_activity) } })),
  el("span", { className: "session-line" }, mix.map(([name, count]) =>
    el("span", { className: `provider-tag ${providerSlot(name)}`, text: `${name} ${count}` }))),
  mix.length ? el("span", { className: "mix-bar", attrs: { "aria-hidden": "true" } },
    mix.map(([name]) => el("span", { className: providerSlot(name) }))) : null);
  // Bar widths are layout, not content: set through the CSSOM (allowed by the CSP), never as markup.
  const bars = button.querySelectorAll(".mix-bar span");
  mix.forEach(([, count], index) => { bars[index].style.width = `${(100 * count) / total}%`; });
  return button;
}

/** A pinned session's mark: it stays local because it holds private data (the kind, never the value). */
function privateBadge(session) {
  if (!session.private) return null;
  return el("span", {
    className: "badge badge-warn private-badge",
    text: "pinned local",
    attrs: { title: `Holds private data (${session.private}): answered on this machine only` },
  });
}

/** Subagents' sessions by the parent listed with them; the others are the tree's roots. */
function sessionTree(list) {
  const listed = new Set(list.map((session) => session.id));
  const children = new Map();
  const roots = [];
  for (const session of list) {
    if (session.parent_id && listed.has(session.parent_id)) {
      children.set(session.parent_id, [...(children.get(session.parent_id) || []), session]);
    } else {
      roots.push(session); // a root, or a subagent whose parent is not on this page
    }
  }
  return { roots, children };
}

/** A session and, indented under it, its subagents' sessions (most recently active first). */
function sessionNode(session, children) {
  const subagents = children.get(session.id) || [];
  return el("li", { attrs: { "data-session-id": session.id } },
    sessionItem(session),
    subagents.length ? el("ol", { className: "session-children", attrs: { "aria-label": "Subagents" } },
      subagents.map((child) => sessionNode(child, children))) : null);
}

/** The client filter's choices: every client among the loaded sessions (and the current choice). */
function renderClientFilter() {
  const select = $("client-filter");
  const chosen = select.value;
  const clients = [...new Set([...sessions.map(clientOf), chosen].filter(Boolean))].sort();
  select.replaceChildren(el("option", { text: "All clients", attrs: { value: "" } }),
    ...clients.map((client) => el("option", { text: client, attrs: { value: client } })));
  select.value = chosen;
}

function renderSessionList() {
  renderClientFilter();
  const shown = sessions.filter(matchesFilters);
  const { roots, children } = sessionTree(shown);
  $("session-list").replaceChildren(...roots.map((session) => sessionNode(session, children)));
  $("session-count").textContent = shown.length === sessions.length ? String(sessions.length || "") : `${shown.length} of ${sessions.length}`;
  $("no-matches").hidden = shown.length > 0 || sessions.length === 0;
}

// ---------- which pane to show ----------

function showRightPane() {
  const nothingYet = sessions.length === 0 && !selectedId;
  $("welcome").hidden = !nothingYet;
  $("pick-session").hidden = nothingYet || Boolean(selectedId);
  $("session-detail").hidden = !selectedId;
  layout.classList.toggle("showing-session", Boolean(selectedId));
}

function selectSession(id) {
  selectedId = id;
  setSessionHash(id);
  for (const item of document.querySelectorAll(".session-item")) {
    item.setAttribute("aria-current", item.dataset.sessionId === id ? "true" : "false");
  }
  showRightPane();
  loadSession(id);
  $("session-view").focus({ preventScroll: true });
}

// ---------- one session ----------

async function loadSession(id) {
  const request = ++detailRequest;
  const base = `sessions/${encodeURIComponent(id)}`;
  try {
    const [session, transcript, events] = await Promise.all([
      api(base), api(`${base}/transcript`), api(`${base}/events`),
    ]);
    if (request !== detailRequest) return;
    renderSessionHead(session, listFrom(transcript, "turns"));
    renderSitrep($("sitrep"), session.sitrep);
    renderEvents(listFrom(events, "events"));
    await renderTranscript(listFrom(transcript, "turns"), request);
  } catch (error) {
    if (request !== detailRequest) return;
    $("detail-intent").textContent = error.status === 404 ? "This session no longer exists" : "Could not load this session";
    $("detail-source").textContent = error.message;
    $("detail-id").textContent = id;
  }
}

function renderSessionHead(session, transcript) {
  $("detail-intent").textContent = session.intent || (session.sitrep && session.sitrep.intent) || "No intent yet";
  $("detail-source").textContent = [session.client, session.source, session.route && `route: ${session.route}`].filter(Boolean).join(" · ");
  $("detail-id").textContent = session.id;
  $("detail-parent").hidden = !session.parent_id;
  $("detail-parent-link").textContent = session.parent_id || "";
  $("stat-turns").textContent = formatCount(session.turn_count ?? transcript.length);
  $("stat-saved").textContent = formatCount(session.tokens_saved);
  showDollars($("stat-avoided"), session.cost_avoided, session.unpriced_turns);
  showDollars($("stat-spent"), session.cost_spent, session.unpriced_turns);
  $("stat-escalations").textContent = formatCount(session.escalations);
  $("stat-fallbacks").textContent = formatCount(session.fallbacks);
  $("detail-providers").replaceChildren(...providerSummary(session.providers).map(([name, count]) =>
    el("span", { className: `provider-tag ${providerSlot(name)}`, text: `${name} · ${counted(count, "turn")}` })));
}

const EVENT_BADGES = {
  escalated: "badge-cloud", returned: "badge-local", fallback: "badge-warn", rescue: "badge-warn", hedge: "badge-warn",
  privacy_pinned: "badge-warn", privacy_finding: "badge-warn", privacy_overridden: "badge-warn", privacy_escalation_confirmed: "badge-cloud",
  breaker_open: "badge-danger", error: "badge-danger", escalation_failed: "badge-danger",
};

function describeDetail(detail) {
  return Object.entries(detail || {})
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(" · ");
}

function renderEvents(events) {
  if (!events.length) {
    $("events").replaceChildren(el("li", { className: "muted", text: "None: every turn was answered where it was routed." }));
    return;
  }
  $("events").replaceChildren(...events.map((event) => el("li", { className: "event" },
    el("span", { className: `badge ${EVENT_BADGES[event.kind] || ""}`, text: String(event.kind || "event").replace(/_/g, " ") }),
    el("span", { className: "event-detail", text: describeDetail(event.detail) }),
    el("time", { className: "event-time", text: fullDate(event.created_at) }))));
}

// ---------- transcript ----------

function turnRole(turn) {
  const blocks = Array.isArray(turn.content) ? turn.content : [];
  if (turn.role === "user" && blocks.length && blocks.every((block) => block.type === "tool_result")) return "tool";
  return ["user", "assistant", "tool", "system"].includes(turn.role) ? turn.role : "system";
}

function plainText(text) {
  return el("div", { className: "plain-text", text });
}

function toolResultText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return JSON.stringify(content, null, 2);
  return content.map((part) => (part && part.type === "text" ? part.text : `[${documentTitle(part) || (part && part.type) || "block"}]`)).join("\n");
}

/** One content block as DOM. Text blocks get a placeholder filled with server-rendered Markdown. */
function blockNode(block, pendingMarkdown) {
  switch (block.type) {
    case "text": {
      const holder = el("div", { className: "md" }, plainText(block.text || ""));
      pendingMarkdown.push([holder, block.text || ""]);
      return holder;
    }
    case "tool_use":
      return el("div", { className: "block tool-use" },
        el("div", { className: "block-title", text: `Tool call · ${block.name || "?"}` }),
        el("pre", { text: JSON.stringify(block.input ?? {}, null, 2) }));
    case "tool_result":
      return el("div", { className: "block tool-result" },
        el("div", { className: "block-title" }, "Tool result",
          block.is_error ? el("span", { className: "badge badge-danger", text: "error" }) : null),
        el("pre", { text: toolResultText(block.content) }));
    case "thinking":
      return el("div", { className: "block thinking" },
        el("details", {}, el("summary", { text: "Thinking" }), el("pre", { text: block.thinking || "" })));
    case "hosted_tool":  // an item of a built-in tool its host ran, as the host sent it
      return block.host === "anthropic" ? claudeServerBlock(block.item || {}) : openaiBuiltinItem(block.item || {});
    case "image":
      return el("div", { className: "block muted", text: "[image — not shown]" });
    default:
      return el("div", { className: "block muted", text: `[${block.type || "unknown"} block]` });
  }
}

/** OpenAI's built-in tool item (web_search_call…): its type, status and action. */
function openaiBuiltinItem(item) {
  return el("div", { className: "block tool-use" },
    el("div", { className: "block-title", text: `Built-in tool · ${item.type || "?"}${item.status ? ` · ${item.status}` : ""}` }),
    el("pre", { text: JSON.stringify(item.action ?? item, null, 2) }));
}

/** "document: its title" for a document a client sent Claude (in a tool result: a hosted part). */
function documentTitle(part) {
  const item = part && part.type === "hosted_tool" ? part.item || {} : {};
  if (item.type !== "document") return "";
  const source = item.source || {};
  return `document: ${item.title || source.media_type || source.url || source.type || "?"}`;
}

/** Claude's server-tool block: the call's input, or a result's pages (their ciphertext left out);
 *  a document the client sent (its title: a PDF's bytes are not shown); or Claude's compaction
 *  (its summary, which stands for the conversation before it). */
function claudeServerBlock(item) {
  if (item.type === "document") {
    return el("div", { className: "block muted", text: `[${documentTitle({ type: "hosted_tool", item })}]` });
  }
  if (item.type === "compaction") {
    return el("div", { className: "block thinking" },
      el("details", {}, el("summary", { text: "Claude compacted the conversation before this point" }),
        el("pre", { text: item.content || "(the compaction failed: no summary)" })));
  }
  const pages = Array.isArray(item.content) ? item.content.map((page) => ({ title: page.title, url: page.url })) : item.content;
  const shown = item.type === "server_tool_use" ? item.input ?? {} : pages ?? item;
  const title = item.type === "server_tool_use" ? `Server tool · ${item.name || "?"}` : `Server tool result · ${item.type || "?"}`;
  return el("div", { className: "block tool-use" },
    el("div", { className: "block-title", text: title }),
    el("pre", { text: JSON.stringify(shown, null, 2) }));
}

function turnNode(turn, pendingMarkdown) {
  const role = turnRole(turn);
  const blocks = Array.isArray(turn.content) ? turn.content : [{ type: "text", text: String(turn.content ?? "") }];
  const providerClass = role === "assistant" && turn.provider ? providerSlot(turn.provider) : "";
  const marked = evidenceTurn && evidenceTurn.session === selectedId && evidenceTurn.seq === turn.seq ? " evidence-turn" : "";
  return el("li", { className: `turn turn-${role} ${providerClass}${marked}`, attrs: { "data-seq": turn.seq } },
    el("div", { className: "turn-head" },
      el("span", { className: "turn-role", text: role }),
      turn.provider ? el("span", { className: `provider-tag ${providerSlot(turn.provider)}`, text: [turn.provider, turn.model].filter(Boolean).join(" · ") }) : null,
      turn.tokens_in || turn.tokens_out ? el("span", { text: `${formatCount(turn.tokens_in)} in · ${formatCount(turn.tokens_out)} out` }) : null,
      turn.tokens_cached ? el("span", { className: "cached", text: `${formatCount(turn.tokens_cached)} cached` }) : null,
      turn.latency_ms ? el("span", { text: `${Math.round(turn.latency_ms)} ms` }) : null,
      el("time", { text: fullDate(turn.created_at) })),
    el("div", { className: "turn-body" }, blocks.map((block) => blockNode(block || {}, pendingMarkdown)),
      role === "assistant" ? cutAtLimitNote(turn.stop_reason) : null));
}

async function renderTranscript(transcript, request) {
  const pending = [];
  const list = $("transcript");
  if (!transcript.length) {
    list.replaceChildren(el("li", { className: "muted", text: "No turns recorded yet." }));
    return;
  }
  list.replaceChildren(...transcript.map((turn) => turnNode(turn, pending)));
  const missing = [...new Set(pending.map(([, text]) => text).filter((text) => !renderedMarkdown.has(text)))];
  for (let start = 0; start < missing.length; start += RENDER_BATCH) {
    const texts = missing.slice(start, start + RENDER_BATCH);
    try {
      const { html } = await api("api/render", { method: "POST", body: { texts } });
      texts.forEach((text, index) => renderedMarkdown.set(text, html[index]));
    } catch (_) {
      break; // the plain-text fallback already shown stays: readable, and safe
    }
  }
  if (request !== detailRequest) return;
  for (const [holder, text] of pending) {
    if (renderedMarkdown.has(text)) setRenderedHTML(holder, renderedMarkdown.get(text));
  }
}

// ---------- live updates ----------

let listTimer = null;
let detailTimer = null;

function onLiveUpdate(update) {
  clearTimeout(listTimer);
  listTimer = setTimeout(loadSessions, REFRESH_DELAY_MS);
  if (selectedId && update.session_id === selectedId) {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(() => loadSession(selectedId), REFRESH_DELAY_MS);
  }
}

function setLiveState(state) {
  const status = $("live-status");
  status.dataset.state = state;
  status.textContent = { live: "Live", connecting: "Reconnecting…", down: "Offline — reload to retry" }[state] || state;
  if (state === "live") loadSessions(); // catch up on anything missed while disconnected
}

// ---------- start ----------

function fillSnippets() {
  const base = serverBaseURL();
  $("base-url").textContent = base;
  $("snippet-anthropic").textContent = `from anthropic import Anthropic\nclient = Anthropic(base_url="${base}")`;
  $("snippet-openai").textContent = `from openai import OpenAI\nclient = OpenAI(base_url="${base}/v1", api_key="trooper")`;
  $("snippet-claude-code").textContent = `export ANTHROPIC_BASE_URL=${base}\nclaude`;
}

// A SITREP item's "turn N" button: bring the turn it was read from into view, and mark it.
$("sitrep").addEventListener("sitrep-evidence", (event) => {
  const seq = Number(event.detail.turn);
  const turn = document.querySelector(`#transcript [data-seq="${seq}"]`);
  if (!turn) return;
  evidenceTurn = { session: selectedId, seq };
  for (const marked of document.querySelectorAll("#transcript .evidence-turn")) marked.classList.remove("evidence-turn");
  turn.classList.add("evidence-turn");
  turn.scrollIntoView({ behavior: "smooth", block: "center" });
});

$("session-search").addEventListener("input", renderSessionList);
$("client-filter").addEventListener("change", renderSessionList);
$("detail-parent-link").addEventListener("click", (event) => selectSession(event.currentTarget.textContent));
$("load-more").addEventListener("click", () => {
  sessionsWanted += PAGE_SIZE;
  loadSessions();
});
$("back-to-list").addEventListener("click", () => {
  selectedId = "";
  setSessionHash("");
  renderSessionList();
  showRightPane();
});
window.addEventListener("hashchange", () => {
  const id = sessionFromHash();
  if (id && id !== selectedId) selectSession(id);
});
setInterval(renderSessionList, 30_000); // keep "3 min ago" honest

fillSnippets();
showRightPane();
loadSessions();
if (selectedId) loadSession(selectedId);
followLiveFeed(onLiveUpdate, setLiveState);
offerSignOut();
