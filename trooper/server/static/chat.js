// The chat page: stream answers as plain text, swap in the server's sanitised HTML when done,
// escalate to the cloud and back, and keep the SITREP beside the conversation.
import {
  api, copyText, counted, cutAtLimitNote, offerSignOut, el, formatCount, fullDate, postEventStream, renderSitrep, sessionFromHash,
  setRenderedHTML, setSessionHash, showDollars, timeAgo,
} from "./common.js";
import { openKeyDialog, providerName, setUpKeyDialog } from "./cloud-keys.js";

const $ = (id) => document.getElementById(id);
const scroller = $("scroller");
const messages = $("messages");
const prompt = $("prompt");

let sessionId = "";
let route = "local"; // the route the server reported for this chat
let cloudAvailable = true;
const NO_CLOUD = "No cloud model is configured: add a key, or set CLAUDE_API_KEY (or GEMINI_API_KEY, OPENAI_API_KEY) before Trooper starts.";
const DEMO_DISMISSED = "trooper-demo-notice-dismissed";

/** What this server can do: whether anything can be escalated to, and whether the demo model answers. */
async function loadServerState() {
  let health;
  try {
    health = await api("health");
  } catch {
    return; // the page still works; the first answer will say what is wrong
  }
  cloudAvailable = Array.isArray(health.escalation) && health.escalation.length > 0;
  refreshRouteActions();
  const demo = health.local && health.local.tier === "embedded";
  $("demo-notice").hidden = !demo || localStorage.getItem(DEMO_DISMISSED) === "yes";
}

/** A key was added: escalation works from now on, without a restart. */
function keyAdded(answer) {
  cloudAvailable = Array.isArray(answer.escalation) && answer.escalation.length > 0;
  refreshRouteActions();
  const kept = answer.saved ? `saved to ${answer.keys_file}` : "kept until Trooper stops";
  $("key-added").textContent = `${providerName(answer.added)} key added (${kept}).${cloudAvailable ? " ↑ Escalate asks the cloud now." : ""}`;
  $("key-added").hidden = false;
}

let controller = null; // AbortController of the answer being streamed
let openRequest = 0; // guards against a slow older session load overwriting a newer one

// ---------- building the conversation ----------

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
}

function keepScrolled(wasNearBottom) {
  if (wasNearBottom) scroller.scrollTop = scroller.scrollHeight;
}

function addNode(node) {
  const stick = nearBottom();
  messages.append(node);
  $("empty-chat").hidden = true;
  keepScrolled(stick);
  return node;
}

function addUserMessage(text) {
  return addNode(el("article", { className: "msg msg-user" }, el("div", { className: "bubble", text })));
}

/** A divider between answers of the two routes; `to`: who was escalated to (a provider name). */
function addDivider(kind, to) {
  const cloud = kind === "escalated";
  return addNode(el("div", {
    className: `divider ${cloud ? "divider-cloud" : "divider-local"}`,
    attrs: { role: "separator" },
    text: cloud ? `— escalated to ${to ? providerName(to) : "the cloud"} —` : "— returned to local —",
  }));
}

function addError(message) {
  return addNode(el("div", { className: "msg" },
    el("div", { className: "notice", attrs: { role: "alert" } },
      el("span", { className: "notice-title", text: "Not answered." }), message)));
}

function labelClass(tier, label) {
  if (/fallback/i.test(label || "")) return "badge-warn";
  return tier === "cloud" ? "badge-cloud" : "badge-local";
}

/** An assistant answer: plain text while streaming, sanitised server HTML once done. */
class Answer {
  constructor({ provider, model, tier } = {}) {
    this.source = ""; // the Markdown as streamed, for the Copy button
    this.tier = tier || "local";
    this.label = el("span", { className: `badge ${labelClass(this.tier)} answer-label`, text: [model || provider || "…", tier].filter(Boolean).join(" · ") });
    this.text = document.createTextNode("");
    this.body = el("div", { className: "msg-body md streaming" }, this.text);
    this.actions = el("div", { className: "msg-actions" });
    this.node = addNode(el("article", { className: "msg msg-assistant", attrs: { "aria-busy": "true" } },
      el("div", { className: "msg-head" }, this.label), this.body, this.actions));
  }

  append(text) {
    const stick = nearBottom();
    this.source += text;
    this.text.appendData(text); // textContent only: nothing streamed is ever parsed as HTML
    keepScrolled(stick);
  }

  finish({ tier, label, html, text, stop_reason: stopReason } = {}) {
    this.tier = tier || this.tier;
    if (label) this.label.textContent = label;
    this.label.className = `badge ${labelClass(this.tier, label)} answer-label`;
    if (text && !this.source) this.source = text;
    this.body.classList.remove("streaming");
    if (typeof html === "string") setRenderedHTML(this.body, html);
    else this.body.replaceChildren(el("div", { className: "plain-text", text: this.source }));
    const cut = cutAtLimitNote(stopReason);
    if (cut) this.actions.before(cut);
    this.done();
  }

  stop(note) {
    this.body.classList.remove("streaming");
    this.node.append(el("p", { className: "msg-note", text: note }));
    this.done();
  }

  done() {
    this.node.removeAttribute("aria-busy");
    this.node.dataset.tier = this.tier;
    this.actions.replaceChildren(el("button", {
      className: "btn btn-ghost", text: "Copy", attrs: { type: "button", "aria-label": "Copy answer" },
      on: { click: (event) => copyText(this.source, event.currentTarget) },
    }));
  }
}

/** ↑ Escalate under the latest local answer, ↩ Back to local under the latest cloud answer. */
function refreshRouteActions() {
  for (const button of messages.querySelectorAll(".route-action")) button.remove();
  const last = [...messages.querySelectorAll(".msg-assistant:not([aria-busy])")].pop();
  if (!last || controller) return;
  const actions = last.querySelector(".msg-actions");
  if (last.dataset.tier === "cloud" && route === "cloud") {
    actions.append(el("button", {
      className: "btn btn-local route-action", text: "↩ Back to local", attrs: { type: "button" }, on: { click: returnToLocal },
    }));
  } else if (last.dataset.tier !== "cloud") {
    actions.append(el("button", {
      className: "btn btn-cloud route-action", text: "↑ Escalate",
      attrs: {
        type: "button", disabled: !cloudAvailable,
        title: cloudAvailable ? "Ask Claude to answer this instead" : NO_CLOUD,
      },
      on: { click: escalate },
    }));
    if (!cloudAvailable) {
      actions.append(el("span", { className: "route-action no-cloud muted" }, NO_CLOUD, " ",
        el("button", { className: "btn btn-small add-key", text: "Add a cloud key", attrs: { type: "button" }, on: { click: openKeyDialog } })));
    }
  }
}

function showRoute() {
  const pill = $("route-pill");
  pill.textContent = route === "cloud" ? "Cloud (Claude)" : "Local first";
  pill.className = `badge ${route === "cloud" ? "badge-cloud" : "badge-local"}`;
}

function showStats(stats) {
  if (!stats) return;
  $("stat-saved").textContent = formatCount(stats.tokens_saved);
  showDollars($("stat-avoided"), stats.cost_avoided, stats.unpriced_turns);
  showDollars($("stat-spent"), stats.cost_spent, stats.unpriced_turns);
  $("stat-escalations").textContent = formatCount(stats.escalations);
}

// ---------- streaming answers ----------

function setBusy(busy) {
  $("stop").hidden = !busy;
  $("send").disabled = busy;
  if (!busy) controller = null;
}

/** POST to an answer stream and show it: start → delta… → done, or error. */
async function streamAnswer(path, body) {
  controller = new AbortController();
  setBusy(true);
  refreshRouteActions();
  let answer = null;
  let confirmation = null;
  const onEvent = (name, data) => {
    if (name === "confirm") {
      confirmation = data;
    } else if (name === "escalated") {
      route = data.route || "cloud";
      showRoute();
      addDivider("escalated", data.to);
    } else if (name === "start") {
      answer = new Answer(data);
    } else if (name === "delta") {
      if (!answer) answer = new Answer();
      answer.append(String(data.text ?? ""));
    } else if (name === "done") {
      if (!answer) answer = new Answer(data);
      answer.finish(data);
      if (Array.isArray(data.private) && data.private.length) showPrivate(data.private);
      route = data.route || route;
      showRoute();
      showStats(data.stats);
      if (data.sitrep) renderSitrep($("sitrep"), data.sitrep);
    } else if (name === "error") {
      if (answer && answer.node.hasAttribute("aria-busy")) answer.stop("The answer broke off.");
      addError(data.message || "The model did not answer.");
    }
  };
  try {
    await postEventStream(path, body, { signal: controller.signal, onEvent });
    if (answer && answer.node.hasAttribute("aria-busy")) answer.stop("The stream ended before the answer was complete.");
  } catch (error) {
    if (error.name === "AbortError") {
      if (answer) answer.stop("Stopped.");
      refreshSessionInfo();
    } else {
      if (answer && answer.node.hasAttribute("aria-busy")) answer.stop("The answer broke off.");
      addError(error.message || "Trooper could not be reached.");
    }
  } finally {
    setBusy(false);
    refreshRouteActions();
    loadSessionList();
  }
  // The session holds private data: escalate only when the person says so, knowing what was found.
  if (confirmation && window.confirm(String(confirmation.message ?? ""))) {
    await streamAnswer(path, { ...(body || {}), confirm: true });
  }
}

async function send(text) {
  if (controller || !text.trim()) return;
  if (!sessionId) {
    try {
      const created = await api("api/chat/sessions", { method: "POST", body: {} });
      sessionId = created.id;
      setSessionHash(sessionId);
    } catch (error) {
      addError(`Could not start a chat: ${error.message}`);
      return;
    }
  }
  prompt.value = "";
  fitPrompt();
  addUserMessage(text);
  // Local first: the local model answers until someone escalates; then the cloud until Back to local.
  await streamAnswer(chatPath("messages"), { content: text, route: route === "cloud" ? "cloud" : "local" });
}

function escalate() {
  if (controller || !sessionId) return;
  streamAnswer(chatPath("escalate"));
}

async function returnToLocal() {
  if (controller || !sessionId) return;
  try {
    const result = await api(chatPath("return"), { method: "POST" });
    route = result.route || "local";
    showRoute();
    addDivider("returned");
    refreshRouteActions();
  } catch (error) {
    addError(error.message);
  }
}

function chatPath(action) {
  return `api/chat/sessions/${encodeURIComponent(sessionId)}${action ? `/${action}` : ""}`;
}

// ---------- opening a chat ----------

/** Messages and routing dividers in order: by time when messages carry it, else by tier changes. */
function conversationItems(chat) {
  const list = Array.isArray(chat.messages) ? chat.messages : [];
  const routeEvents = (Array.isArray(chat.events) ? chat.events : []).filter((e) => e.kind === "escalated" || e.kind === "returned");
  if (list.length && list.every((message) => message.created_at !== undefined)) {
    return [...list.map((message) => ({ message, at: message.created_at })),
      ...routeEvents.map((event) => ({ divider: event.kind, to: (event.detail || {}).to, at: event.created_at }))]
      .sort((a, b) => a.at - b.at);
  }
  const items = [];
  let lastTier = "";
  for (const message of list) {
    if (message.role === "assistant") {
      const tier = message.tier || "local";
      if (lastTier && tier !== lastTier) {
        items.push({ divider: tier === "cloud" ? "escalated" : "returned", to: message.provider });
      }
      lastTier = tier;
    }
    items.push({ message });
  }
  if (lastTier === "cloud" && chat.route === "local") items.push({ divider: "returned" });
  return items;
}

function showConversation(chat) {
  messages.replaceChildren();
  for (const item of conversationItems(chat)) {
    if (item.divider) addDivider(item.divider, item.to);
    else if (item.message.role === "user") addUserMessage(String(item.message.text ?? ""));
    else if (item.message.role === "assistant") new Answer(item.message).finish(item.message);
  }
  $("empty-chat").hidden = messages.childElementCount > 0;
  scroller.scrollTop = scroller.scrollHeight;
}

/** A session holding private data is answered locally: say so, and what was found (never the value). */
// Where a finding is: " (turn 3)", " (the system prompt)" for turn -1, nothing when not known.
function findingPlace(turn) {
  if (!Number.isInteger(turn)) return "";
  return turn < 0 ? " (the system prompt)" : ` (turn ${turn + 1})`;
}

function showPrivate(findings) {
  const pill = $("private-pill");
  const list = Array.isArray(findings) ? findings : [];
  pill.hidden = list.length === 0;
  pill.title = list.map((f) => `${f.finding}${findingPlace(f.turn)}`).join(", ");
}

function showChatState(chat) {
  route = chat.route === "cloud" ? "cloud" : "local";
  cloudAvailable = chat.cloud_available !== false;
  showPrivate(chat.private);
  showRoute();
  showStats(chat.stats);
  renderSitrep($("sitrep"), chat.sitrep);
}

async function openSession(id) {
  if (controller) controller.abort();
  const request = ++openRequest;
  sessionId = id;
  setSessionHash(id);
  markCurrentSession();
  try {
    const chat = await api(chatPath(""));
    if (request !== openRequest) return;
    showConversation(chat);
    showChatState(chat);
    refreshRouteActions();
  } catch (error) {
    if (request !== openRequest) return;
    startNewChat();
    addError(error.status === 404 ? "That chat no longer exists. Start a new one below." : error.message);
  }
}

/** After a stopped answer: the server may have recorded part of it; update stats and SITREP only. */
async function refreshSessionInfo() {
  if (!sessionId) return;
  try {
    showChatState(await api(chatPath("")));
  } catch (_) { /* the next answer refreshes them anyway */ }
}

function startNewChat() {
  if (controller) controller.abort();
  openRequest += 1;
  sessionId = "";
  route = "local";
  showPrivate([]);
  setSessionHash("");
  messages.replaceChildren();
  $("empty-chat").hidden = false;
  showRoute();
  showStats({ tokens_saved: 0, escalations: 0, cost_spent: 0, cost_avoided: 0, unpriced_turns: 0 });
  renderSitrep($("sitrep"), {});
  markCurrentSession();
  closeDrawers();
  prompt.focus();
}

// ---------- chats list ----------

async function loadSessionList() {
  let chats = [];
  try {
    chats = await api("api/chat/sessions");
  } catch (_) {
    return; // the list is a convenience; the open chat keeps working
  }
  const items = (Array.isArray(chats) ? chats : []).map((chat) => el("li", {},
    el("button", {
      className: "chat-session",
      attrs: { type: "button", "data-session-id": chat.id, "aria-current": chat.id === sessionId ? "true" : "false" },
      on: { click: () => { closeDrawers(); if (chat.id !== sessionId) openSession(chat.id); } },
    },
    el("span", { className: "chat-session-title", text: chat.title || chat.intent || chat.first_words || "New chat" }),
    el("span", { className: "chat-session-meta", attrs: { title: fullDate(chat.last_activity) },
      text: `${timeAgo(chat.last_activity)} · ${counted(chat.turn_count, "turn")}` }))));
  $("chat-sessions").replaceChildren(...items);
  $("no-chats").hidden = items.length > 0;
}

function markCurrentSession() {
  for (const button of document.querySelectorAll(".chat-session")) {
    button.setAttribute("aria-current", button.dataset.sessionId === sessionId ? "true" : "false");
  }
}

// ---------- drawers (narrow screens) ----------

function toggleDrawer(name, open) {
  document.body.classList.toggle(`show-${name}`, open);
  $(`toggle-${name}`).setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !document.body.classList.contains("show-sessions") && !document.body.classList.contains("show-sitrep");
}

function closeDrawers() {
  toggleDrawer("sessions", false);
  toggleDrawer("sitrep", false);
}

// ---------- composer ----------

function fitPrompt() {
  prompt.style.height = "auto";
  prompt.style.height = `${prompt.scrollHeight}px`;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  send(prompt.value);
});
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send(prompt.value);
  }
});
prompt.addEventListener("input", fitPrompt);
$("stop").addEventListener("click", () => controller && controller.abort());
$("new-chat").addEventListener("click", startNewChat);
for (const suggestion of document.querySelectorAll(".suggestion")) {
  suggestion.addEventListener("click", () => {
    prompt.value = suggestion.textContent.trim();
    fitPrompt();
    prompt.focus();
  });
}
$("toggle-sessions").addEventListener("click", () => toggleDrawer("sessions", !document.body.classList.contains("show-sessions")));
$("toggle-sitrep").addEventListener("click", () => toggleDrawer("sitrep", !document.body.classList.contains("show-sitrep")));
$("scrim").addEventListener("click", closeDrawers);
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeDrawers(); });
window.addEventListener("hashchange", () => {
  const id = sessionFromHash();
  if (id && id !== sessionId) openSession(id);
});

renderSitrep($("sitrep"), {});
showRoute();
loadSessionList();
const initial = sessionFromHash();
if (initial) openSession(initial);
else prompt.focus();
offerSignOut();
$("dismiss-demo").addEventListener("click", () => {
  localStorage.setItem(DEMO_DISMISSED, "yes");
  $("demo-notice").hidden = true;
});
document.querySelector("#demo-notice .add-key").addEventListener("click", openKeyDialog);
setUpKeyDialog(keyAdded);
loadServerState();
