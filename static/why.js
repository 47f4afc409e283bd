// The "Why?" view: sends the classified video again to POST /upload/explain (the server deleted
// its copy once it had answered) and shows, for the most-attended frames, the crop the model saw
// beside its Grad-CAM (or Grad-CAM++) overlay with the saliency box.
"use strict";

import { el, pct, postForm, pretty, Progress, secs } from "./dom.js";

const METHOD_NAMES = { gradcam: "Grad-CAM", "gradcam++": "Grad-CAM++" };

export class WhyView {
  // ``onExplained(indices)`` is told which frames were explained (to mark them on the attention timeline).
  constructor(root, onExplained) {
    this.root = root;
    this.url = root.dataset.url;
    this.onExplained = onExplained;
    this.button = root.querySelector("#why-button");
    this.classSelect = root.querySelector("#why-class");
    this.progress = new Progress(root.querySelector("#why-progress"), root.querySelector("#why-bar"),
                                 root.querySelector("#why-text"));
    this.error = root.querySelector("#why-error");
    this.output = root.querySelector("#why-output");
    this.button.addEventListener("click", () => this.run());
    this.subject = null;
  }

  // A new result: forget the last explanation and offer its classes.
  // ``sent``: what the page sent for it ({file, tta, start, end}); "Why?" explains the same span.
  reset(result, sent) {
    this.subject = { file: sent.file, tta: sent.tta, start: sent.start, end: sent.end,
                     predicted: result.predicted_label };
    this.output.hidden = true;
    this.error.hidden = true;
    this.progress.hide();
    this.button.disabled = false;
    const keep = el("option", { value: "" }, "its answer (" + pretty(result.predicted_label) + ")");
    this.classSelect.replaceChildren(keep, ...Object.keys(result.probabilities).map(
      (c) => el("option", { value: c }, pretty(c))));
  }

  run() {
    const { file, tta, start, end } = this.subject;
    const method = this.root.querySelector('input[name="why-method"]:checked').value;
    const data = new FormData();
    data.append("video", file, file.name);
    data.append("tta", tta ? "true" : "false");
    data.append("method", method);
    data.append("k", this.root.querySelector("#why-k").value);
    data.append("class", this.classSelect.value);
    if (start) data.append("start", start);  // the span the answer is about
    if (end) data.append("end", end);
    this.button.disabled = true;
    this.error.hidden = true;
    postForm(this.url, data, this.progress, "Computing " + METHOD_NAMES[method] + " on the most-attended frames…")
      .then(({ body }) => this.show(body))
      .catch((err) => {
        this.error.textContent = err.message;
        this.error.hidden = false;
      })
      .finally(() => {
        this.progress.hide();
        this.button.disabled = false;
      });
  }

  show(exp) {
    const own = exp.target === exp.result.predicted_label;
    this.root.querySelector("#why-summary").textContent = METHOD_NAMES[exp.method] + " for " + pretty(exp.target) +
      (own ? " (the model's answer)" : " (not the answer: " + pretty(exp.result.predicted_label) + ")") +
      " on the " + exp.frames.length + " most-attended frames, in time order (red on the attention timeline " +
      "above). Warm colours show where the " +
      "evidence for this class lies; the box is the largest hot region, a check that the model looks at " +
      "the subject.";
    this.root.querySelector("#why-frames").replaceChildren(...exp.frames.map(frameFigure));
    this.output.hidden = false;
    this.onExplained(exp.frames.map((f) => f.index));
  }
}

function frameFigure(f) {
  const fig = el("figure", { class: "why-frame" });
  const crop = el("div", { class: "crop" });
  const img = el("img", { src: "data:image/png;base64," + f.frame_png, alt: "frame at " + secs(f.timestamp) });
  crop.append(img);
  if (f.box) {
    const box = el("span", { class: "box" });
    crop.append(box);
    // The box is in crop pixels: place it once the image's own size is known.
    img.addEventListener("load", () => {
      const [x, y, w, h] = f.box;
      Object.assign(box.style, { left: pct(x / img.naturalWidth), top: pct(y / img.naturalHeight),
                                 width: pct(w / img.naturalWidth), height: pct(h / img.naturalHeight) });
    });
  }
  const overlay = el("img", { class: "overlay", src: "data:image/png;base64," + f.overlay_png,
                              alt: "heatmap at " + secs(f.timestamp) });
  const pair = el("div", { class: "pair" });
  pair.append(crop, overlay);
  const box = f.box ? "box " + f.box[2] + "×" + f.box[3] + " at (" + f.box[0] + ", " + f.box[1] + ")" : "no hot region";
  fig.append(pair, el("figcaption", {}, secs(f.timestamp) + " · attention " + pct(f.attention) + " · " + box));
  return fig;
}
