// The page at /: the plan `run` made, live figures from /metrics, and a chat box.
// No libraries, no network beyond this server. Everything the server or the model sends is put
// in the page as text (textContent / text nodes), never parsed as HTML.
"use strict";

const KEY_STORE = "vllm-page-api-key";
const POLL_MS = 2000;
const KEEP = 90; // samples per plot (3 minutes)
const $ = (id) => document.getElementById(id);

const state = { key: sessionStorage.getItem(KEY_STORE) || "", model: null, history: [],
                controller: null, samples: [], last: null, timer: null };

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.key) h.Authorization = "Bearer " + state.key;
  return h;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: headers(), cache: "no-store" });
  if (response.status === 401) throw Object.assign(new Error("unauthorized"), { status: 401 });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

// ---- API key -------------------------------------------------------------------------------

function askForKey(message) {
  $("main").hidden = true;
  $("key-box").hidden = false;
  $("key-error").textContent = message || "";
  $("key-input").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key-input").value.trim();
  sessionStorage.setItem(KEY_STORE, state.key);
  start();
});

// ---- plan ----------------------------------------------------------------------------------

function renderPlan(plan) {
  const s = plan.summary || {};
  $("title").textContent = (s.served_name || "vLLM server") + " — vLLM server";
  document.title = (s.served_name || "vLLM") + " · vLLM server";
  const summary = $("summary");
  summary.replaceChildren();
  const rows = [["Model", s.model], ["Served as", s.served_name],
                ["Family", s.family ? s.family + " — " + s.family_reason
                                    : "none — " + (s.family_reason || "")],
                ["vLLM", s.vllm], ["GPUs", s.gpus], ["Context", s.context],
                ["Parallel", s.parallel], ["Quantization", s.quantization],
                ["Tuned profile", s.profile]];
  for (const [name, value] of rows) {
    if (value !== undefined && value !== null) summary.append(el("dt", name), el("dd", value));
  }
  const warnings = $("warnings");
  const list = plan.warnings || [];
  warnings.replaceChildren(...(list.length ? list.map((w) => el("li", w, "warning"))
                                           : [el("li", "No warnings.", "no-warnings")]));
  const body = $("settings").tBodies[0];
  body.replaceChildren();
  for (const [name, entry] of Object.entries(plan.settings || {})) {
    const row = document.createElement("tr");
    const value = entry.value === null ? "—" : typeof entry.value === "string" ? entry.value
      : Array.isArray(entry.value) ? entry.value.join("\n") : JSON.stringify(entry.value);
    row.append(el("td", name, "name"), el("td", value, "value"),
               el("td", entry.source, "source source-" + entry.source), el("td", entry.reason));
    body.append(row);
  }
  $("argv").textContent = (plan.argv || []).join(" ");
  $("env").textContent = Object.entries(plan.env || {}).map(([k, v]) => k + "=" + v).join("\n");
}

// ---- live figures --------------------------------------------------------------------------

const PLOTS = [
  { id: "requests", title: "Requests", unit: "",
    series: [["running", "#2563eb"], ["waiting", "#d97706"]] },
  { id: "tokens", title: "Output tokens/s", unit: " tok/s", series: [["tokens_per_s", "#059669"]] },
  { id: "kv", title: "KV cache use", unit: " %", max: 100, series: [["kv_percent", "#7c3aed"]] },
  { id: "prefix", title: "Prefix-cache hit rate", unit: " %", max: 100,
    series: [["hit_percent", "#db2777"]] },
];

function buildPlots() {
  const box = $("plots");
  if (box.childElementCount) return;
  for (const plot of PLOTS) {
    const figure = el("figure", null, "plot");
    figure.id = "plot-" + plot.id;
    const caption = el("figcaption");
    caption.append(el("span", plot.title, "plot-title"), el("span", "…", "plot-value"));
    const canvas = el("canvas");
    canvas.width = 280; canvas.height = 80;
    figure.append(caption, canvas);
    box.append(figure);
  }
}

// Two successive /metrics samples -> one point per series (rates over the interval).
function point(now, last) {
  const p = { running: now.running, waiting: now.waiting,
              kv_percent: now.kv_cache_usage === null ? null : 100 * now.kv_cache_usage };
  const dt = last ? now.time - last.time : 0;
  p.tokens_per_s = last && dt > 0 && now.generation_tokens !== null
    ? Math.max(0, (now.generation_tokens - last.generation_tokens) / dt) : null;
  const queries = last && now.prefix_cache_queries !== null
    ? now.prefix_cache_queries - last.prefix_cache_queries : 0;
  p.hit_percent = queries > 0
    ? 100 * (now.prefix_cache_hits - last.prefix_cache_hits) / queries : null;
  return p;
}

function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, "");
}

function draw(plot) {
  const figure = $("plot-" + plot.id);
  const canvas = figure.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 4;
  ctx.clearRect(0, 0, w, h);
  let top = plot.max || 1;
  for (const p of state.samples) {
    for (const [name] of plot.series) if (p[name] !== null) top = Math.max(top, p[name]);
  }
  ctx.strokeStyle = "#e5e7eb"; ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = Math.round(pad + (h - 2 * pad) * f) + 0.5;
    ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
  }
  ctx.fillStyle = "#6b7280"; ctx.font = "10px sans-serif";
  ctx.fillText(fmt(top), 2, 12);
  // The window fills up over the first minute, then scrolls (KEEP samples at most).
  const span = Math.max(state.samples.length, 30);
  const step = (w - 2 * pad) / (span - 1);
  const offset = span - state.samples.length;
  let drawn = 0;
  for (const [name, color] of plot.series) {
    const points = [];
    state.samples.forEach((p, i) => {
      if (p[name] === null) return;
      points.push([pad + (offset + i) * step, h - pad - (h - 2 * pad) * (p[name] / top)]);
    });
    drawn += points.length;
    if (!points.length) continue;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.stroke();
    ctx.lineTo(points[points.length - 1][0], h - pad); ctx.lineTo(points[0][0], h - pad);
    ctx.closePath(); ctx.globalAlpha = 0.15; ctx.fillStyle = color; ctx.fill();
    ctx.globalAlpha = 1;
  }
  const latest = state.samples[state.samples.length - 1] || {};
  const text = plot.series.map(([name]) => (plot.series.length > 1 ? name + " " : "") +
                               fmt(latest[name]) + plot.unit).join(" · ");
  figure.querySelector(".plot-value").textContent = text;
  figure.dataset.points = String(drawn);
}

async function poll() {
  try {
    const now = await getJSON("/ui/api/stats");
    state.samples.push(point(now, state.last));
    state.last = now;
    if (state.samples.length > KEEP) state.samples.shift();
    PLOTS.forEach(draw);
  } catch (error) {
    if (error.status === 401) { stopPolling(); askForKey("The key was refused."); }
  }
  health();
}

function stopPolling() { clearInterval(state.timer); state.timer = null; }

async function health() {
  const pill = $("health");
  try {
    const response = await fetch("/health", { cache: "no-store" });
    pill.textContent = response.ok ? "healthy" : "unhealthy (" + response.status + ")";
    pill.className = "pill " + (response.ok ? "ok" : "bad");
  } catch (error) {
    pill.textContent = "unreachable"; pill.className = "pill bad";
  }
}

// ---- chat ----------------------------------------------------------------------------------

function bubble(role, text) {
  const box = el("div", null, "msg msg-" + role);
  box.append(el("div", role, "role"), el("div", text, "text"));
  $("messages").append(box);
  box.scrollIntoView({ block: "end" });
  return box.querySelector(".text");
}

function setStreaming(on) {
  $("send").disabled = on;
  $("stop").disabled = !on;
}

function requestBody(prompt) {
  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...state.history, { role: "user", content: prompt });
  const body = { model: state.model, messages, stream: true };
  const temperature = parseFloat($("temperature").value);
  const maxTokens = parseInt($("max-tokens").value, 10);
  if (!Number.isNaN(temperature)) body.temperature = temperature;
  if (!Number.isNaN(maxTokens)) body.max_tokens = maxTokens;
  return body;
}

// Server-sent events from /v1/chat/completions -> text appended to `target` as it arrives.
async function stream(response, target) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "", text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const events = pending.split(/\r?\n\r?\n/);
    pending = events.pop();
    for (const event of events) {
      const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim()).join("");
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message || JSON.stringify(chunk.error));
      const delta = ((chunk.choices || [])[0] || {}).delta || {};
      const piece = delta.content || "";
      if (piece) {
        target.append(document.createTextNode(piece));
        text += piece;
        $("messages").scrollTop = $("messages").scrollHeight;
      }
    }
  }
  return text;
}

async function send(prompt) {
  const status = $("chat-status");
  bubble("user", prompt);
  const target = bubble("assistant", "");
  target.parentElement.classList.add("streaming");
  state.controller = new AbortController();
  setStreaming(true);
  status.textContent = "streaming…";
  let text = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", signal: state.controller.signal,
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(requestBody(prompt)),
    });
    if (response.status === 401) { askForKey("The key was refused."); return; }
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      throw new Error((error.error && error.error.message) || error.message ||
                      "HTTP " + response.status);
    }
    text = await stream(response, target);
    // Stop pressed while the last buffered pieces were being shown: the user stopped it.
    status.textContent = state.controller.signal.aborted ? "stopped" : "done";
  } catch (error) {
    text = target.textContent;
    status.textContent = error.name === "AbortError" ? "stopped" : "error: " + error.message;
    if (error.name !== "AbortError") target.parentElement.classList.add("failed");
  } finally {
    target.parentElement.classList.remove("streaming");
    state.history.push({ role: "user", content: prompt }, { role: "assistant", content: text });
    state.controller = null;
    setStreaming(false);
  }
}

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt || state.controller) return;
  $("prompt").value = "";
  send(prompt);
});
$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("chat-form").requestSubmit();
  }
});
$("stop").addEventListener("click", () => state.controller && state.controller.abort());
$("clear").addEventListener("click", () => {
  state.history = [];
  $("messages").replaceChildren();
  $("chat-status").textContent = "";
});

// ---- start ---------------------------------------------------------------------------------

async function start() {
  health();
  let plan;
  try {
    plan = await getJSON("/ui/api/plan");
  } catch (error) {
    if (error.status === 401) {
      askForKey(state.key ? "The key was refused." : "");
    } else {
      $("key-error").textContent = "Could not load the plan: " + error.message;
      $("key-box").hidden = false;
    }
    return;
  }
  $("key-box").hidden = true;
  $("main").hidden = false;
  if (plan.error) {
    $("summary").replaceChildren(el("dt", "Plan"), el("dd", plan.error));
  } else {
    renderPlan(plan);
  }
  try {
    const models = await getJSON("/v1/models");
    state.model = models.data[0].id;
  } catch (error) {
    state.model = (plan.summary || {}).served_name || null;
  }
  buildPlots();
  if (!state.timer) { poll(); state.timer = setInterval(poll, POLL_MS); }
}

start();
