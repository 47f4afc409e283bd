// The upload page: choose or drop a video, upload it with progress, poll the job, show the answer,
// its attention timeline, its timeline band (when asked for) and, on request, why (why.js).
// No framework; every text from the server goes in through textContent (never innerHTML).
"use strict";

import { el, pct, postForm, pretty, Progress, secs } from "./dom.js";
import { attentionScale, drawAttention, drawAxis, drawTimeline, markExplained } from "./timeline.js";
import { WhyView } from "./why.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("video");
const drop = document.getElementById("drop-zone");
const chosen = document.getElementById("chosen");
const submit = document.getElementById("submit");
const tta = document.getElementById("tta");
const interval = document.getElementById("interval");
const startInput = document.getElementById("start");
const endInput = document.getElementById("end");
const picker = document.getElementById("segment-picker");
const progress = new Progress(document.getElementById("progress"), document.getElementById("progress-bar"),
                              document.getElementById("progress-text"));
const errorBox = document.getElementById("error");
const resultBox = document.getElementById("result");
const attentionChart = document.getElementById("attention-chart");
const why = new WhyView(document.getElementById("why"), (indices) => markExplained(attentionChart, indices));
const maxBytes = Number(form.dataset.maxBytes);
const POLL_MS = 500;
let file = null;

const size = (n) => (n < 1048576 ? Math.max(1, Math.round(n / 1024)) + " KB" : (n / 1048576).toFixed(1) + " MB");
const timelineMode = () => form.querySelector('input[name="timeline"]:checked').value;

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  progress.hide();
  submit.disabled = !file;
}

function choose(f) {
  file = f || null;
  errorBox.hidden = true;
  chosen.textContent = file ? file.name + " (" + size(file.size) + ")" : "";
  submit.disabled = !file;
  if (file && file.size > maxBytes) {
    showError("This file is " + size(file.size) + "; the server accepts up to " + size(maxBytes) + ".");
    submit.disabled = true;
  }
}

input.addEventListener("change", () => choose(input.files[0]));
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
  e.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, (e) => {
  e.preventDefault();
  drop.classList.remove("over");
}));
drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));
// Typing a window length means "every N s": choose that option for the user.
interval.addEventListener("input", () => { document.getElementById("timeline-interval").checked = true; });

form.addEventListener("submit", (e) => {
  e.preventDefault();
  send();
});

// The result's segment picker: the same file again, the chosen span only (or all of it).
picker.addEventListener("submit", (e) => {
  e.preventDefault();
  startInput.value = document.getElementById("pick-start").value;
  endInput.value = document.getElementById("pick-end").value;
  send();
});
document.getElementById("pick-whole").addEventListener("click", () => {
  startInput.value = "";
  endInput.value = "";
  send();
});

function send() {
  if (!file) return;
  const sent = { file, tta: tta.checked, start: startInput.value.trim(), end: endInput.value.trim() };
  const data = new FormData();
  data.append("video", file, file.name);
  data.append("tta", sent.tta ? "true" : "false");
  const mode = timelineMode();
  data.append("timeline", mode);
  if (mode === "interval") data.append("interval", interval.value);
  if (sent.start) data.append("start", sent.start);
  if (sent.end) data.append("end", sent.end);
  errorBox.hidden = true;
  resultBox.hidden = true;
  submit.disabled = true;
  postForm(form.action, data, progress, "Queued…")
    .then(({ body }) => poll(body.status_url, sent))
    .catch((err) => showError(err.message));
}

// What span the answer is about, and the picker set to it.
function showSegment(r) {
  const seg = r.video.segment;
  const whole = r.video.duration;
  document.getElementById("segment-note").textContent = seg
    ? "This answer is about " + secs(seg[0]) + "–" + secs(Math.min(seg[1], whole)) + " of the " + secs(whole) + " video."
    : "This answer is about the whole " + secs(whole) + " video.";
  document.getElementById("pick-start").value = seg ? seg[0] : "";
  document.getElementById("pick-end").value = seg ? seg[1] : "";
  document.getElementById("pick-whole").hidden = !seg;
}

const STAGES = { starting: "Starting", decoding: "Decoding the video and reading its frames",
                 members: "Asking the ensemble", timeline: "Classifying each window of the timeline",
                 explaining: "Explaining" };

// What the job is doing, in words, with how far it is (the server's stage and progress).
function stageText(job) {
  if (job.status !== "running") return "Queued…";
  return (STAGES[job.stage] || "Classifying") + "… " + Math.round(100 * (job.progress || 0)) + "%";
}

function poll(url, sent) {
  fetch(url, { headers: { Accept: "application/json" } })
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      if (!ok) return showError(body.error ? body.error.message : "The job could not be read.");
      if (body.status === "done") return showResult(body.result, sent);
      if (body.status === "failed") return showError(body.error.message);
      progress.show(stageText(body), body.status === "running" ? body.progress : 0);
      setTimeout(() => poll(url, sent), POLL_MS);
    })
    .catch(() => showError("Lost contact with the server while waiting for the answer."));
}

function showResult(r, sent) {
  progress.hide();
  submit.disabled = false;
  document.getElementById("label").textContent = pretty(r.label);
  document.getElementById("confidence").textContent = pct(r.confidence);
  showSegment(r);
  const note = document.getElementById("uncertain-note");
  note.hidden = !r.uncertain;
  const reasons = (r.uncertain_reasons || []).join("; ");
  note.textContent = !r.uncertain ? "" : r.label === "uncertain"
    ? "Not sure enough to answer; the best guess is " + pretty(r.predicted_label) + " at " + pct(r.confidence) + " (" + reasons + ")."
    : "Uncertain answer: " + reasons + ". Treat " + pretty(r.label) + " as a guess.";
  renderBars(r);
  renderMembers(r);
  const duration = r.video.duration || r.frames[r.frames.length - 1].timestamp;
  renderFrames(r, duration);
  renderTimeline(r, duration);
  why.reset(r, sent);
  renderVideo(r);
  resultBox.hidden = false;
  resultBox.scrollIntoView({ behavior: "smooth", block: "start" });
}

function renderBars(r) {
  const box = document.getElementById("bars");
  box.replaceChildren();
  for (const { label, score } of r.top_k) {
    const row = el("div", { class: "bar-row" + (label === r.predicted_label ? " winner" : "") });
    row.append(el("span", { class: "bar-label" }, pretty(label)));
    const track = el("span", { class: "bar-track" });
    const fill = el("span", { class: "bar-fill" });
    fill.style.width = pct(score);
    track.append(fill);
    row.append(track, el("span", { class: "bar-value" }, pct(score)));
    box.append(row);
  }
}

function renderMembers(r) {
  const body = document.querySelector("#members tbody");
  body.replaceChildren();
  let agree = 0;
  for (const m of r.members) {
    const same = m.label === r.predicted_label;
    agree += same ? 1 : 0;
    const tr = el("tr", { class: same ? "agree" : "disagree" });
    tr.append(el("td", {}, m.name), el("td", {}, (same ? "✓ " : "✗ ") + pretty(m.label)),
              el("td", {}, pct(m.confidence)));
    body.append(tr);
  }
  document.getElementById("agreement").textContent =
    agree + " of " + r.members.length + " members agree with the ensemble.";
  document.getElementById("tta-note").textContent = r.tta.enabled
    ? "Test-time augmentation on: " + r.tta.views.join(", ") + "."
    : "Test-time augmentation off.";
}

// The frame strip, and under it the attention timeline on the video's time axis.
function renderFrames(r, duration) {
  const frames = r.frames;
  const maxAtt = attentionScale(frames);
  const ranked = frames.map((f) => f.attention).sort((a, b) => b - a);
  const cutoff = ranked[Math.min(2, ranked.length - 1)];
  const strip = document.getElementById("strip");
  strip.replaceChildren();
  frames.forEach((f, i) => {
    const fig = el("figure", { class: "frame" + (f.attention >= cutoff ? " focus" : ""),
                               title: f.timestamp.toFixed(2) + " s · attention " + pct(f.attention) });
    if (r.thumbnails && r.thumbnails[i]) fig.append(el("img", { src: r.thumbnails[i], alt: "frame " + i }));
    const att = el("span", { class: "att" });
    const fill = el("span", { class: "att-fill" });
    fill.style.width = ((100 * f.attention) / maxAtt).toFixed(1) + "%";
    att.append(fill);
    fig.append(att, el("figcaption", {}, secs(f.timestamp)));
    strip.append(fig);
  });
  drawAttention(attentionChart, frames, duration);
  drawAxis(document.getElementById("attention-axis"), duration);
}

function renderTimeline(r, duration) {
  const box = document.getElementById("timeline");
  box.hidden = !r.timeline;
  if (r.timeline) drawTimeline(box, r.timeline, Object.keys(r.probabilities), duration);
}

function renderVideo(r) {
  const v = r.video;
  const dl = document.getElementById("video-meta");
  dl.replaceChildren();
  const t = r.timings_ms;
  const rows = [
    ["file", v.filename],
    ["duration", v.duration.toFixed(2) + " s"],
    ["size", v.width + " × " + v.height],
    ["frame rate", v.fps.toFixed(2) + " fps"],
    ["codec", v.codec],
    ["frames sampled", String(r.frames.length)],
    ["model", r.model.name + " " + r.model.version + " (" + r.model.backbone + ", " + r.model.device + ")"],
    ["time", (t.total / 1000).toFixed(2) + " s (decode " + (t.decode / 1000).toFixed(2) + " s, features " +
             (t.features / 1000).toFixed(2) + " s" + (t.timeline ? ", timeline " + (t.timeline / 1000).toFixed(2) +
             " s" : "") + ")"],
  ];
  for (const w of v.warnings || []) rows.push(["warning", w]);
  for (const [k, val] of rows) dl.append(el("dt", {}, k), el("dd", {}, val));
}
