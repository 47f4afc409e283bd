// Small helpers shared by the upload page's modules: building elements, formatting, and posting a
// form with upload progress. Every text from the server goes in through textContent (never innerHTML).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function svgEl(tag, attrs, title) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (title !== undefined) node.append(svgTitle(title));
  return node;
}

function svgTitle(text) {
  const t = document.createElementNS(SVG_NS, "title");
  t.textContent = text;
  return t;
}

export const pretty = (label) => label.replace(/_/g, " ");
export const pct = (x) => (100 * x).toFixed(1) + "%";
export const secs = (t) => (t >= 100 ? t.toFixed(0) : t.toFixed(1)) + " s";

// Shows what a request is doing: a <progress> bar and a status line, inside a container to unhide.
export class Progress {
  constructor(box, bar, text) {
    Object.assign(this, { box, bar, text });
  }

  show(message, fraction) {
    this.box.hidden = false;
    if (fraction === undefined) this.bar.removeAttribute("value"); // indeterminate: the server works
    else this.bar.value = Math.round(100 * fraction);
    this.text.textContent = message;
  }

  hide() {
    this.box.hidden = true;
  }
}

function errorMessage(xhr) {
  try {
    return JSON.parse(xhr.responseText).error.message;
  } catch (_) {
    return "The server answered " + xhr.status + " " + xhr.statusText + ".";
  }
}

// POST a FormData with the page's CSRF token, reporting upload progress; once the body is sent,
// ``waiting`` is shown while the server works. Resolves with {status, body} (body parsed from
// JSON); rejects with an Error whose message is the server's plain-words error or a lost connection.
export function postForm(url, data, progress, waiting) {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) progress.show("Uploading… " + Math.round((100 * ev.loaded) / ev.total) + "%", ev.loaded / ev.total);
    });
    xhr.upload.addEventListener("load", () => progress.show(waiting));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 400) return reject(new Error(errorMessage(xhr)));
      resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) });
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed: the connection to the server was lost.")));
    progress.show("Uploading…", 0);
    xhr.send(data);
  });
}
