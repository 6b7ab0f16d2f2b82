// Helpers shared by the dashboard and the chat page.
//
// Safety rule for both pages: text from models, users, tools and session ids goes into the DOM
// through textContent (el() below). The only HTML inserted is what the server's render_markdown
// produced (setRenderedHTML), which is sanitised against an allow-list.
//
// Every URL is relative, so the pages work at /, behind jupyter-server-proxy and under a hub prefix.

/** Build an element. `props`: className, text, attrs {name: value}, on {event: handler}, hidden. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.hidden) node.hidden = true;
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const [event, handler] of Object.entries(props.on || {})) node.addEventListener(event, handler);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An error the server explained (its {"error": {"message"}} body), or a network failure. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = (body && body.error && body.error.message) || body.message || message;
  } catch (_) { /* not JSON: keep the status line */ }
  return new ApiError(message, response.status);
}

/** GET or POST JSON at a relative path; throws ApiError with the server's message. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/**
 * POST and read the answer as Server-Sent Events (EventSource cannot POST).
 * Calls onEvent(name, data) for each event; resolves when the stream ends. Abort with `signal`.
 */
export async function postEventStream(path, body, { signal, onEvent }) {
  const init = { method: "POST", signal, headers: { Accept: "text/event-stream" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatchFrame(buffer.slice(0, end), onEvent);
      buffer = buffer.slice(end + 2);
    }
  }
  if (buffer.trim()) dispatchFrame(buffer, onEvent);
}

function dispatchFrame(frame, onEvent) {
  let name = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith(":")) continue; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  let parsed;
  try {
    parsed = JSON.parse(data.join("\n"));
  } catch (_) {
    parsed = { text: data.join("\n") };
  }
  onEvent(name, parsed);
}

/**
 * Follow the live feed (`api/live`, Server-Sent Events). onUpdate gets each parsed update;
 * onState gets "live" / "down" so the page can say whether it is current. Returns the EventSource.
 */
export function followLiveFeed(onUpdate, onState) {
  const source = new EventSource("api/live");
  source.addEventListener("open", () => onState("live"));
  source.addEventListener("error", () => onState(source.readyState === EventSource.CLOSED ? "down" : "connecting"));
  source.addEventListener("message", (event) => {
    try {
      onUpdate(JSON.parse(event.data));
    } catch (_) { /* an update we cannot read is skipped; the next one re-syncs */ }
  });
  return source;
}

/** Insert HTML produced by the server's render_markdown (sanitised), then add copy buttons. */
export function setRenderedHTML(container, html) {
  container.innerHTML = html;
  addCopyButtons(container);
}

/** A "Copy" button on every code block inside `root`. */
export function addCopyButtons(root) {
  for (const pre of root.querySelectorAll("pre")) {
    if (pre.parentElement && pre.parentElement.classList.contains("code-wrap")) continue;
    const wrap = el("div", { className: "code-wrap" });
    pre.replaceWith(wrap);
    const button = el("button", {
      className: "copy-code",
      text: "Copy",
      attrs: { type: "button", "aria-label": "Copy code" },
      on: { click: () => copyText(pre.textContent, button) },
    });
    wrap.append(pre, button);
  }
}

/** Copy to the clipboard, with a fallback for plain-http pages where navigator.clipboard is absent. */
export async function copyText(text, button) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = el("textarea", { attrs: { readonly: "", "aria-hidden": "true" }, className: "visually-hidden" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    flash(button, "Copied");
  } catch (_) {
    flash(button, "Copy failed");
  }
}

function flash(button, label) {
  if (!button) return;
  const original = button.textContent;
  button.textContent = label;
  setTimeout(() => { button.textContent = original; }, 1400);
}

/** Text of a SITREP item or entity, whatever shape the server chose (string or object). */
export function itemText(item) {
  if (item === null || item === undefined) return "";
  if (typeof item !== "object") return String(item);
  return String(item.text ?? item.name ?? item.value ?? item.description ?? item.summary ?? JSON.stringify(item));
}

function itemKind(item) {
  return item && typeof item === "object" ? item.kind ?? item.type ?? "" : "";
}

/** A confidence as a 0..1 fraction (the server may send a fraction or a percentage). */
export function confidenceFraction(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return null;
  return Math.max(0, Math.min(1, number > 1 ? number / 100 : number));
}

/** Fill `container` with the SITREP: intent + confidence, open loops, completed steps, entities. */
export function renderSitrep(container, sitrep) {
  const data = sitrep || {};
  const fraction = confidenceFraction(data.confidence);
  const evidence = data.evidence || {};
  const item = (entry) => {
    const text = itemText(entry);
    const source = evidence[text];
    if (!source || !Number.isInteger(source.turn)) return el("li", { text });
    // The sentence the item was read from, and a link to its turn (the dashboard scrolls to it).
    return el("li", { attrs: { title: String(source.text || "") } },
      el("span", { text }),
      el("button", {
        className: "evidence", text: `turn ${source.turn + 1}`,
        attrs: { type: "button", "data-turn": source.turn, "aria-label": `Show turn ${source.turn + 1}: ${source.text || ""}` },
        on: { click: () => container.dispatchEvent(new CustomEvent("sitrep-evidence", { bubbles: true, detail: source })) },
      }));
  };
  const list = (items, className, emptyText) => (items && items.length)
    ? el("ul", { className }, items.map(item))
    : el("p", { className: "none", text: emptyText });
  const sections = [
    el("section", { className: "sitrep-intent" },
      el("h3", { text: "Intent" }),
      el("p", { className: "intent", text: data.intent || "Not known yet" }),
      fraction === null ? null : el("div", { className: "confidence" },
        el("meter", { attrs: { min: 0, max: 1, value: fraction, "aria-label": "Confidence" } }),
        el("span", { text: `${Math.round(fraction * 100)}% confident` }))),
    el("section", { className: "sitrep-open-loops" },
      el("h3", { text: "Open loops" }),
      list(data.open_loops, "open-loops", "Nothing left open.")),
    el("section", { className: "sitrep-completed" },
      el("h3", { text: "Completed steps" }),
      list(data.completed_steps, "completed", "No steps completed yet.")),
    el("section", { className: "sitrep-entities" },
      el("h3", { text: "Entities" }),
      (data.entities && data.entities.length)
        ? el("div", {}, data.entities.map((entity) => el("span", { className: "chip" },
            itemKind(entity) ? el("span", { className: "chip-kind", text: itemKind(entity) }) : null,
            itemText(entity))))
        : el("p", { className: "none", text: "None mentioned yet." })),
  ];
  for (const [key, title] of [["decisions", "Decisions"], ["constraints", "Constraints"]]) {
    if (data[key] && data[key].length) {
      sections.push(el("section", { className: `sitrep-${key}` }, el("h3", { text: title }), list(data[key], "plain", "")));
    }
  }
  container.replaceChildren(...sections);
}

/** A note under an answer that ended because it reached its token limit (stop reason max_tokens), else null. */
export function cutAtLimitNote(stopReason) {
  if (stopReason !== "max_tokens") return null;
  return el("p", { className: "cut-note", text: "Cut at the token limit: the answer is incomplete." });
}

/** "3 min ago" for an epoch-seconds timestamp; the full date goes in a title. */
export function timeAgo(epochSeconds) {
  const seconds = Math.max(0, Date.now() / 1000 - Number(epochSeconds));
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

export function fullDate(epochSeconds) {
  const date = new Date(Number(epochSeconds) * 1000);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

export function formatCount(value) {
  const number = Number(value) || 0;
  return number.toLocaleString();
}

/** Dollars as the pages show them: "$0", "$1.25", a fraction of a cent to four places ("$0.0042"). */
export function formatDollars(value) {
  const number = Number(value) || 0;
  if (number === 0) return "$0";
  if (number < 0.0001) return "<$0.0001";
  return `$${number.toFixed(number < 0.01 ? 4 : 2)}`;
}

/** Show dollars in `node`; with turns whose model has no price, a "+" and a tooltip saying so. */
export function showDollars(node, value, unpricedTurns) {
  const unpriced = Number(unpricedTurns) || 0;
  node.textContent = `${formatDollars(value)}${unpriced ? "+" : ""}`;
  if (unpriced) node.title = `${counted(unpriced, "turn")} left out: no price for its model (set TROOPER_PRICES)`;
  else node.removeAttribute("title");
}

/** "1 turn", "2 turns", "1,204 turns": a count with its noun, singular for exactly one. */
export function counted(value, noun, plural = `${noun}s`) {
  const number = Number(value) || 0;
  return `${formatCount(number)} ${number === 1 ? noun : plural}`;
}

/** One of six palette slots for a provider name, so each provider keeps its colour everywhere. */
export function providerSlot(name) {
  let hash = 0;
  for (const char of String(name || "")) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `prov-${hash % 6}`;
}

/** Where this Trooper is reachable, from the page's own address (works behind proxies too). */
export function serverBaseURL() {
  return new URL(".", window.location.href).href.replace(/\/$/, "");
}

/** The session id kept in the URL hash (#<id>), so a reload keeps the open session. */
export function sessionFromHash() {
  const raw = window.location.hash.slice(1);
  try {
    return raw ? decodeURIComponent(raw) : "";
  } catch (_) {
    return "";
  }
}

export function setSessionHash(id) {
  const hash = id ? `#${encodeURIComponent(id)}` : "";
  if (window.location.hash !== hash) {
    history.replaceState(null, "", hash || window.location.pathname + window.location.search);
  }
}

/** Show the "Sign out" form of a page once a sign-in happened (a Trooper with TROOPER_TOKEN). */
export function offerSignOut() {
  const form = document.getElementById("sign-out");
  if (form) form.hidden = !document.cookie.split(";").some((part) => part.trim().startsWith("trooper_signed_in="));
}
