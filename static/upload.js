// The upload page: choose or drop a video, upload it with progress, poll the job, show the answer.
// No framework; every text from the server goes in through textContent (never innerHTML).
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("video");
  const drop = document.getElementById("drop-zone");
  const chosen = document.getElementById("chosen");
  const submit = document.getElementById("submit");
  const tta = document.getElementById("tta");
  const progress = document.getElementById("progress");
  const bar = document.getElementById("progress-bar");
  const progressText = document.getElementById("progress-text");
  const errorBox = document.getElementById("error");
  const resultBox = document.getElementById("result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const maxBytes = Number(form.dataset.maxBytes);
  const POLL_MS = 500;
  let file = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const pretty = (label) => label.replace(/_/g, " ");
  const pct = (x) => (100 * x).toFixed(1) + "%";
  const size = (n) => (n < 1048576 ? Math.max(1, Math.round(n / 1024)) + " KB" : (n / 1048576).toFixed(1) + " MB");

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    progress.hidden = true;
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

  function errorMessage(xhr) {
    try {
      return JSON.parse(xhr.responseText).error.message;
    } catch (_) {
      return "The server answered " + xhr.status + " " + xhr.statusText + ".";
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!file) return;
    const data = new FormData();
    data.append("video", file, file.name);
    data.append("tta", tta.checked ? "true" : "false");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (ev) => {
      if (!ev.lengthComputable) return;
      bar.value = Math.round((100 * ev.loaded) / ev.total);
      progressText.textContent = "Uploading… " + bar.value + "%";
    });
    xhr.addEventListener("load", () => {
      if (xhr.status !== 202) return showError(errorMessage(xhr));
      bar.removeAttribute("value"); // indeterminate while the server works
      progressText.textContent = "Queued…";
      poll(JSON.parse(xhr.responseText).status_url);
    });
    xhr.addEventListener("error", () => showError("The upload failed: the connection to the server was lost."));
    errorBox.hidden = true;
    resultBox.hidden = true;
    progress.hidden = false;
    submit.disabled = true;
    bar.value = 0;
    progressText.textContent = "Uploading…";
    xhr.send(data);
  });

  function poll(url) {
    fetch(url, { headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) return showError(body.error ? body.error.message : "The job could not be read.");
        if (body.status === "done") return showResult(body.result);
        if (body.status === "failed") return showError(body.error.message);
        progressText.textContent = body.status === "running" ? "Classifying…" : "Queued…";
        setTimeout(() => poll(url), POLL_MS);
      })
      .catch(() => showError("Lost contact with the server while waiting for the answer."));
  }

  function showResult(r) {
    progress.hidden = true;
    submit.disabled = false;
    document.getElementById("label").textContent = pretty(r.label);
    document.getElementById("confidence").textContent = pct(r.confidence);
    const note = document.getElementById("uncertain-note");
    note.hidden = !r.uncertain;
    note.textContent = r.uncertain ? "Not sure enough to answer; the best guess is " + pretty(r.predicted_label) +
      " at " + pct(r.confidence) + "." : "";
    renderBars(r);
    renderMembers(r);
    renderFrames(r);
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

  // Attention is drawn against the larger of its maximum and twice the uniform share, so an even
  // spread (every frame 1/N) shows as half-height bars rather than as all-maximum ones.
  const attentionScale = (frames) => Math.max(...frames.map((f) => f.attention), 2 / Math.max(frames.length, 1));

  function renderFrames(r) {
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
      fig.append(att, el("figcaption", {}, f.timestamp.toFixed(1) + " s"));
      strip.append(fig);
    });
    const duration = r.video.duration || frames[frames.length - 1].timestamp;
    document.getElementById("axis-end").textContent = duration.toFixed(1) + " s";
    drawAttention(frames, duration);
  }

  function drawAttention(frames, duration) {
    // Attention against time as an SVG bar chart (one bar per sampled frame).
    const svg = document.getElementById("attention-chart");
    const ns = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const maxAtt = attentionScale(frames);
    const width = 1000 / Math.max(frames.length, 1);
    frames.forEach((f) => {
      const h = (110 * f.attention) / maxAtt;
      const rect = document.createElementNS(ns, "rect");
      const x = duration > 0 ? (1000 * f.timestamp) / duration - width / 2 : 0;
      rect.setAttribute("x", Math.max(0, x).toFixed(1));
      rect.setAttribute("y", (115 - h).toFixed(1));
      rect.setAttribute("width", Math.max(1, width * 0.8).toFixed(1));
      rect.setAttribute("height", h.toFixed(1));
      const title = document.createElementNS(ns, "title");
      title.textContent = f.timestamp.toFixed(2) + " s: " + pct(f.attention);
      rect.append(title);
      svg.append(rect);
    });
  }

  function renderVideo(r) {
    const v = r.video;
    const dl = document.getElementById("video-meta");
    dl.replaceChildren();
    const rows = [
      ["file", v.filename],
      ["duration", v.duration.toFixed(2) + " s"],
      ["size", v.width + " × " + v.height],
      ["frame rate", v.fps.toFixed(2) + " fps"],
      ["codec", v.codec],
      ["frames sampled", String(r.frames.length)],
      ["model", r.model.name + " " + r.model.version + " (" + r.model.backbone + ", " + r.model.device + ")"],
      ["time", (r.timings_ms.total / 1000).toFixed(2) + " s (decode " + (r.timings_ms.decode / 1000).toFixed(2) +
               " s, features " + (r.timings_ms.features / 1000).toFixed(2) + " s)"],
    ];
    for (const w of v.warnings || []) rows.push(["warning", w]);
    for (const [k, val] of rows) dl.append(el("dt", {}, k), el("dd", {}, val));
  }
})();
