"""Why the model answered: Grad-CAM (or Grad-CAM++) on an upload's most-attended frames.

Serves ``POST /explain`` (API) and the upload page's "Why?" (``POST /upload/explain``). An
explanation is a backward pass per explained frame on top of a classification, so it runs on the
inference pool like classification does, and only when asked: the plain classify path never
computes one.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.explain.gradcam import METHODS
from app.web.errors import BadField
from app.web.uploads import Upload, given, parse_choice, show

DEFAULT_K = 4
# Each frame adds a backward pass and two PNGs (about 100 KB of base64) to the answer; more than
# this is not a sanity check any more but a second copy of the video.
MAX_K = 16


@dataclass(frozen=True)
class ExplainOptions:
    """What to explain: ``k`` frames, with ``method``, for class ``target`` (None: the prediction)."""

    k: int = DEFAULT_K
    method: str = METHODS[0]
    target: str | None = None


def parse_options(form, classes: list[str]) -> ExplainOptions:
    """The ``k``, ``method`` and ``class`` fields (blank: the default). Raises BadField naming the
    valid values."""
    k = DEFAULT_K
    k_text = given(form.get("k"))
    if k_text is not None:
        k = int(k_text) if k_text.isdigit() and len(k_text) <= 3 else 0
        if not 1 <= k <= MAX_K:
            raise BadField(f"k must be a whole number from 1 to {MAX_K}, got {show(form.get('k'))}")
    method = parse_choice("method", form.get("method"), METHODS) or METHODS[0]
    target = parse_choice("class", form.get("class"), classes, what=" (the model's classes; empty: the prediction)")
    return ExplainOptions(k, method, target)


def explain(clf, upload: Upload, options: ExplainOptions) -> dict:
    """``to_json(explain_video(...))`` for ``upload``: {result, target, method, frames: [{index,
    timestamp, attention, box, frame_png, overlay_png}]}, PNGs as base64. Raises what
    ``explain_video`` raises (VideoDecodeError for a bad video)."""
    from app.explain.video import explain_video, to_json  # imports the classifier module: only when used

    explanation = explain_video(clf, upload.path, k=options.k, method=options.method, target=options.target,
                                use_tta=upload.tta)
    out = to_json(explanation)
    out["result"]["video"]["filename"] = upload.filename  # not the private temp name
    return out
