// The chat page's "Add a cloud key" dialog. The key goes to the server once (POST api/cloud-keys)
// and is then cleared from the page; the server only ever answers which providers have a key.
import { api } from "./common.js";

const $ = (id) => document.getElementById(id);
const PROVIDER_NAMES = { claude: "Claude", gemini: "Gemini", openai: "OpenAI" };
const SOURCES = {
  settings: "set when Trooper started",
  memory: "added here, until Trooper stops",
  file: "added here and saved",
};
let onAdded = () => {};

export function providerName(provider) {
  return PROVIDER_NAMES[provider] || provider;
}

/** Wire the dialog once; `added(answer)` runs after a key is accepted, with the server's answer. */
export function setUpKeyDialog(added) {
  onAdded = added;
  $("key-form").addEventListener("submit", submitKey);
  $("key-cancel").addEventListener("click", () => $("key-dialog").close());
  // However the dialog closes (Escape too), the typed key does not stay in the page.
  $("key-dialog").addEventListener("close", () => { $("key-value").value = ""; });
}

export async function openKeyDialog() {
  showError("");
  $("key-dialog").showModal();
  $("key-value").focus();
  try {
    showStatus(await api("api/cloud-keys"));
  } catch (error) {
    showError(error.message);
  }
}

function showStatus(status) {
  const file = status.keys_file;
  $("key-file").textContent = file || "";
  $("key-save").closest("label").hidden = !file;
  $("key-save").disabled = !file;
  $("key-no-file").hidden = Boolean(file);
  const configured = (Array.isArray(status.providers) ? status.providers : [])
    .filter((provider) => provider.configured)
    .map((provider) => `${providerName(provider.name)} (${SOURCES[provider.source] || provider.source})`);
  $("key-configured").textContent = configured.length
    ? `With a key: ${configured.join(", ")}. A new key replaces the one its provider has.`
    : "No cloud provider has a key yet.";
}

function showError(message) {
  $("key-error").textContent = message;
  $("key-error").hidden = !message;
}

async function submitKey(event) {
  event.preventDefault();
  const body = { provider: $("key-provider").value, key: $("key-value").value.trim(), save: $("key-save").checked };
  $("key-submit").disabled = true;
  try {
    const answer = await api("api/cloud-keys", { method: "POST", body });
    $("key-dialog").close();
    onAdded(answer);
  } catch (error) {
    showError(error.message);
  } finally {
    $("key-submit").disabled = false;
  }
}
