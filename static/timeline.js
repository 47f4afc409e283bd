// Views of a result along the video's duration: a time axis, the attention timeline under the
// frame strip, and the timeline band (one coloured lane per category, from per-window answers).
"use strict";

import { el, pct, pretty, secs, svgEl } from "./dom.js";

const STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const MAX_TICKS = 10;
const AGGREGATES = { mean: "the duration-weighted mean of the windows' probabilities",
                     vote: "the label of most windows" };

const percentAt = (t, duration) => (duration > 0 ? Math.min(100, Math.max(0, (100 * t) / duration)) : 0);
const colour = (classes, label) => "s" + (classes.indexOf(label) % 6); // the dashboard's palette (style.css)

function place(node, start, end, duration) {
  node.style.left = percentAt(start, duration).toFixed(3) + "%";
  node.style.width = Math.max(0.2, percentAt(end, duration) - percentAt(start, duration)).toFixed(3) + "%";
  return node;
}

// Ticks at a round step (at most MAX_TICKS of them), labelled in seconds.
export function drawAxis(box, duration) {
  box.replaceChildren();
  const step = STEPS.find((s) => duration / s <= MAX_TICKS) || Math.ceil(duration / MAX_TICKS);
  for (let i = 0; i * step <= duration + 1e-9; i++) {
    const t = i * step;
    const at = percentAt(t, duration);
    // Labels are centred on their tick, except at the ends, where they would stick out of the axis.
    const end = at === 0 ? " start" : at > 97 ? " end" : "";
    const tick = el("span", { class: "tick" + end }, (Number.isInteger(step) ? t.toFixed(0) : t.toFixed(1)) + " s");
    tick.style.left = at.toFixed(3) + "%";
    box.append(tick);
  }
}

// Attention is drawn against the larger of its maximum and twice the uniform share, so an even
// spread (every frame 1/N) shows as half-height bars rather than as all-maximum ones.
export const attentionScale = (frames) =>
  Math.max(...frames.map((f) => f.attention), 2 / Math.max(frames.length, 1));

// Attention against time, one bar per sampled frame at its timestamp (viewBox 1000 x 120).
export function drawAttention(svg, frames, duration) {
  svg.replaceChildren();
  const maxAtt = attentionScale(frames);
  const width = 1000 / Math.max(frames.length, 1);
  for (const f of frames) {
    const h = (110 * f.attention) / maxAtt;
    const x = duration > 0 ? (1000 * f.timestamp) / duration - width / 2 : 0;
    svg.append(svgEl("rect", { x: Math.max(0, x).toFixed(1), y: (115 - h).toFixed(1),
                               width: Math.max(1, width * 0.8).toFixed(1), height: h.toFixed(1),
                               "data-index": f.index }, secs(f.timestamp) + ": attention " + pct(f.attention)));
  }
}

// Outline the bars of the frames an explanation covered (the "Why?" view's frames).
export function markExplained(svg, indices) {
  for (const rect of svg.querySelectorAll("rect")) {
    rect.classList.toggle("explained", indices.includes(Number(rect.dataset.index)));
  }
}

function row(label, track, labelClass) {
  const r = el("div", { class: "lane" });
  r.append(el("span", { class: "lane-label" + (labelClass ? " " + labelClass : "") }, label), track);
  return r;
}

function windowTitle(w, classes, focus) {
  const span = secs(w.start) + "–" + secs(w.end);
  const answer = pretty(w.label) + " " + pct(w.confidence);
  if (focus === undefined) return span + ": " + answer;
  return span + ": " + pretty(focus) + " " + pct(w.probabilities[focus]) + " (window's answer: " + answer + ")";
}

// The answer of each window, one colour per class, with the shot cuts marked.
function answerBand(tl, classes, duration) {
  const track = el("div", { class: "lane-track band", "aria-label": "answer per window" });
  for (const w of tl.windows) {
    const seg = place(el("span", { class: "seg win " + colour(classes, w.label) + (w.uncertain ? " uncertain" : ""),
                                   title: windowTitle(w, classes) + (w.uncertain ? " (uncertain)" : "") }),
                      w.start, w.end, duration);
    seg.append(el("span", { class: "seg-text" }, pretty(w.label) + (w.uncertain ? "?" : "")));
    track.append(seg);
  }
  for (const cut of tl.shots || []) {
    track.append(place(el("span", { class: "cut", title: "cut at " + secs(cut) }), cut, cut, duration));
  }
  return track;
}

// One lane for a class: each window's probability of it as the height of a bar in its colour,
// solid where it is the window's answer.
function classLane(tl, classes, label, duration) {
  const track = el("div", { class: "lane-track", "data-class": label });
  for (const w of tl.windows) {
    const seg = place(el("span", { class: "seg " + colour(classes, label) + (w.label === label ? " win" : ""),
                                   title: windowTitle(w, classes, label) }), w.start, w.end, duration);
    const fill = el("span", { class: "fill" });
    fill.style.height = pct(w.probabilities[label]);
    seg.append(fill);
    track.append(seg);
  }
  return track;
}

function describe(tl, duration) {
  const n = tl.windows.length;
  if (tl.mode === "shots") {
    const cuts = tl.shots || [];
    return "By shot: " + (cuts.length + 1) + " shot" + (cuts.length ? "s" : "") +
      (cuts.length ? " (cuts at " + cuts.map(secs).join(", ") + ")" : " (no cut found)") + ", " + n +
      " window" + (n === 1 ? "" : "s") + " after merging short shots.";
  }
  const width = n ? tl.windows[0].end - tl.windows[0].start : 0;
  const widened = width > tl.interval + 1e-3 && n >= tl.max_windows;
  return "Every " + secs(tl.interval) + ": " + n + " windows" +
    (widened ? " (widened to " + secs(width) + " each, to keep within " + tl.max_windows + " windows)" : "") + ".";
}

// The whole-video row is the answer itself; what the windows say together is shown beside it
// (it can differ: each window sees only its own seconds).
function wholeVideo(tl) {
  const v = tl.video;
  const w = tl.windows_aggregate;
  const how = AGGREGATES[tl.aggregate] || tl.aggregate;
  if (v.source !== "answer" || !w) {
    return "Whole video: " + pretty(v.label) + ", " + pct(v.confidence) + " — from " + tl.windows.length +
      " windows by " + how + ".";
  }
  const head = "Whole video: " + pretty(v.label) + ", " + pct(v.confidence) + " (the answer above). ";
  if (w.label === v.label) {
    return head + "The " + tl.windows.length + " windows agree: " + pct(w.confidence) + " by " + how + ".";
  }
  return head + "The " + tl.windows.length + " windows, each seeing only its own seconds, lean to " +
    pretty(w.label) + " (" + pct(w.confidence) + " by " + how + ").";
}

// The whole timeline: the answer, the answer band, a lane per class, axis and legend.
export function drawTimeline(box, tl, classes, duration) {
  const rows = box.querySelector(".lanes");
  rows.replaceChildren(row("answer", answerBand(tl, classes, duration), "strong"));
  for (const label of classes) rows.append(row(pretty(label), classLane(tl, classes, label, duration)));
  const axis = el("div", { class: "time-axis" });
  drawAxis(axis, duration);
  rows.append(row("", axis));
  box.querySelector(".timeline-aggregate").textContent = wholeVideo(tl);
  box.querySelector(".timeline-mode").textContent = describe(tl, duration) + " " + tl.frames_per_window +
    " frames per window, " + tl.work.frames + " frames in all. Hover a window for its times and confidence.";
  const legend = box.querySelector(".legend");
  legend.replaceChildren(...classes.map((c) => el("span", { class: "key " + colour(classes, c) }, pretty(c))));
}
