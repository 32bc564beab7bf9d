// The Compass portal: a chat over /v1/chat/completions with streaming (server-sent events read
// from fetch), think mode, sampling controls and copy/regenerate. No libraries, no network
// besides this server.
"use strict";

const $ = (id) => document.getElementById(id);
const history = []; // {role, content} sent to the API (reasoning is shown, never sent back)
let controller = null;

async function init() {
  $("api-key").value = localStorage.getItem("compass-api-key") || "";
  $("api-key").addEventListener("change", () => localStorage.setItem("compass-api-key", $("api-key").value));
  try {
    const h = await (await fetch("/health")).json();
    $("model-name").textContent = h.model;
    $("key-row").hidden = !h.auth;
    $("status").textContent = h.status;
    if (h.max_new_tokens) {
      $("max_tokens").max = h.max_new_tokens;
      $("max_tokens").value = Math.min(Number($("max_tokens").value), h.max_new_tokens);
    }
  } catch (e) {
    $("status").textContent = "server unreachable";
  }
  $("composer").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  $("input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("clear").addEventListener("click", () => { history.length = 0; $("messages").innerHTML = ""; });
}

function numberOrNull(id) {
  const v = $(id).value.trim();
  return v === "" ? null : Number(v);
}

function requestBody() {
  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  const body = {
    messages: messages.concat(history),
    stream: true,
    stream_options: { include_usage: true },
    temperature: numberOrNull("temperature"),
    top_p: numberOrNull("top_p"),
    top_k: numberOrNull("top_k"),
    repetition_penalty: numberOrNull("repetition_penalty"),
    max_tokens: numberOrNull("max_tokens"),
    chat_template_kwargs: { enable_thinking: $("think").checked },
  };
  const seed = numberOrNull("seed");
  if (seed !== null) body.seed = seed;
  for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
  return body;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  div.appendChild(content);
  $("messages").appendChild(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

function reasoningBlock(div) {
  let det = div.querySelector("details.reasoning");
  if (!det) {
    det = document.createElement("details");
    det.className = "reasoning";
    det.open = true;
    const sum = document.createElement("summary");
    sum.textContent = "Reasoning";
    const body = document.createElement("div");
    body.className = "reasoning-text";
    det.append(sum, body);
    div.insertBefore(det, div.firstChild);
  }
  return det;
}

function addTools(div, text) {
  const tools = document.createElement("div");
  tools.className = "tools";
  const copy = document.createElement("button");
  copy.textContent = "Copy";
  copy.className = "copy";
  copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(text);
  const regen = document.createElement("button");
  regen.textContent = "Regenerate";
  regen.className = "regenerate";
  regen.onclick = () => {
    if (controller) return;
    history.pop(); // drop this answer and ask again
    div.remove();
    generate();
  };
  tools.append(copy, regen);
  div.appendChild(tools);
}

async function send() {
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  history.push({ role: "user", content: text });
  addMessage("user", text);
  await generate();
}

// Reads "data: {...}" events from the streamed body; calls onEvent per parsed JSON event.
async function readEvents(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let idx;
    while ((idx = buf.indexOf("\n\n")) >= 0) {
      const raw = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      for (const line of raw.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data !== "[DONE]") onEvent(JSON.parse(data));
      }
    }
  }
}

async function generate() {
  const div = addMessage("assistant", "");
  div.classList.add("streaming");
  const content = div.querySelector(".content");
  let answer = "", reasoning = "";
  controller = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers, body: JSON.stringify(requestBody()), signal: controller.signal,
    });
    if (!resp.ok) {
      const err = await resp.json().catch(() => ({ error: { message: resp.statusText } }));
      throw new Error(`${resp.status}: ${err.error.message}`);
    }
    await readEvents(resp, (ev) => {
      if (ev.error) throw new Error(ev.error.message);
      if (ev.usage) $("status").textContent = `${ev.usage.prompt_tokens} prompt + ${ev.usage.completion_tokens} completion tokens`;
      const delta = (ev.choices && ev.choices[0] && ev.choices[0].delta) || {};
      if (delta.reasoning_content) {
        reasoning += delta.reasoning_content;
        reasoningBlock(div).querySelector(".reasoning-text").textContent = reasoning;
      }
      if (delta.content) {
        answer += delta.content;
        content.textContent = answer;
      }
      div.scrollIntoView({ block: "end" });
    });
    const det = div.querySelector("details.reasoning");
    if (det && answer) det.open = false; // collapse the reasoning once the answer is in
  } catch (e) {
    if (e.name !== "AbortError") {
      div.classList.add("error");
      content.textContent = (answer ? answer + "\n\n" : "") + "Error: " + e.message;
    }
  } finally {
    history.push({ role: "assistant", content: answer });
    div.classList.remove("streaming");
    div.classList.add("done");
    addTools(div, answer);
    controller = null;
    $("send").disabled = false;
    $("stop").disabled = true;
  }
}

init();
