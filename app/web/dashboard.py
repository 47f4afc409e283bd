"""The internal dashboard, for reviewers: each bundle's stored test-set (or val-set) results.

Everything shown comes from the bundle's own files (bundle.json, report/report.json, the plots
and training histories written by training and evaluation); nothing is recomputed and no model
is loaded. Behind a token login when VIDEOCLF_DASHBOARD_TOKEN is set; without one, behind the
upload page's login when VIDEOCLF_API_TOKEN is set (the dashboard shows results).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_from_directory, url_for

from app.web import reports
from app.web.auth import dashboard_open, log_in_dashboard, log_out, safe_target
from app.web.inference import get_service

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
SYSTEM_ORDER = ("ensemble", "ensemble_tta", "baseline")
# Headline columns of the systems table: (key in the report, heading, higher is better).
COLUMNS = (("accuracy", "accuracy", True), ("f1_macro", "macro-F1", True), ("f1_weighted", "weighted F1", True),
           ("balanced_accuracy", "balanced acc.", True), ("map_macro", "mAP", True),
           ("auroc_macro", "macro AUROC", True), ("log_loss", "log loss", False), ("ece", "ECE", False))


@bp.before_request
def _require_login():
    if request.endpoint not in ("dashboard.login", "dashboard.logout") and not dashboard_open():
        login = "dashboard.login" if current_app.config["DASHBOARD_TOKEN"] else "ui.login"
        return redirect(url_for(login, next=request.full_path))


def _bundles() -> tuple[dict[str, Path], Path]:
    loaded = Path(get_service().model_dir).resolve()
    return reports.find_bundles(current_app.config["MODELS_DIR"], loaded), loaded


@bp.get("/<bundle_id>")
@bp.get("/")
@bp.get("")  # registered first, so url_for gives /dashboard
def show(bundle_id: str | None = None):
    """One bundle's results (default: the loaded bundle); ``?split=val`` and ``?system=`` choose."""
    bundles, loaded = _bundles()
    if bundle_id is None:
        bundle_id = next((k for k, p in bundles.items() if p == loaded), next(iter(bundles), None))
    if bundle_id is None:
        return render_template("dashboard.html", bundles={}, bundle_id=None, loaded_id=None)
    if bundle_id not in bundles:
        abort(404, f"There is no bundle {bundle_id!r} in the models directory.")
    split = request.args.get("split", "test")
    if split not in reports.REPORT_SPLITS:
        abort(400, f"split must be one of {', '.join(reports.REPORT_SPLITS)}.")
    path = bundles[bundle_id]
    loaded_id = next((k for k, p in bundles.items() if p == loaded), None)
    context = {"bundles": bundles, "bundle_id": bundle_id, "loaded_id": loaded_id, "split": split}
    try:
        meta = reports.read_meta(path)
        report = reports.read_report(path, split)
    except reports.ReportError as exc:
        return render_template("dashboard.html", **context, problem=str(exc))
    training = reports.training_histories(path)
    context.update(meta=meta, report=report, training=training, curves=_curves(training), columns=COLUMNS,
                   studies=reports.studies(meta))
    if report:
        context.update(_report_view(report, meta, request.args.get("system"), split))
    return render_template("dashboard.html", **context)


def _report_view(report: dict, meta: dict, wanted: str | None, split: str) -> dict:
    """What the template needs from one report: systems in order, the best of each column, the
    chosen system's confusion matrix, per-class rows, plots and misclassified items."""
    systems = report["systems"]
    order = [s for s in systems if s not in SYSTEM_ORDER] + [s for s in SYSTEM_ORDER if s in systems]
    tta_default = bool((meta.get("inference") or {}).get("tta_default"))
    system = wanted if wanted in systems else reports.primary_system(report, tta_default)
    prefix = "" if split == "test" else "val/"
    plots = {kind: prefix + report["plots"][f"{system}_{kind}"] for kind in ("pr", "roc", "reliability")
             if f"{system}_{kind}" in report.get("plots", {})}
    key = system if system in ("ensemble", "ensemble_tta", "baseline") else "ensemble"
    wrong = [p for p in report.get("predictions", []) if p.get(key, p["label"]) != p["label"]]
    m = systems[system]
    weakest = min(report["classes"], key=lambda c: m["per_class"][c]["f1"])
    glance = [("accuracy", f"{m['accuracy']:.1%}"), ("macro-F1", f"{m['f1_macro']:.3f}"),
              ("calibration error (ECE)", f"{m['ece']:.3f}"),
              ("weakest class", f"{weakest.replace('_', ' ')} · F1 {m['per_class'][weakest]['f1']:.2f}")]
    levels = _levels(report, order)
    if len(levels) > 1 and system in levels[1]["systems"]:
        glance.append((f"video-level accuracy ({levels[1]['n']} videos)",
                       f"{levels[1]['systems'][system]['accuracy']:.1%}"))
    return {"systems": systems, "order": order, "system": system, "levels": levels, "glance": glance,
            "confusion": reports.confusion_rows(systems[system]["confusion_matrix"]),
            "per_class": systems[system]["per_class"], "plots": plots,
            "f1_plot": prefix + report["plots"]["f1_per_class"] if "f1_per_class" in report.get("plots", {}) else None,
            "wrong": wrong, "wrong_key": key}


def _levels(report: dict, order: list[str]) -> list[dict]:
    """The systems tables: clip level, and video level when the report has one (a manifest with
    several segments per video). Each: id, level, n, unit, systems, the order of rows and the best
    value of each column."""
    clip = {"id": "systems", "level": "clip", "n": report["n"], "systems": report["systems"]}
    video = report.get("video_level")
    if not video:
        return [clip | {"unit": "videos", "order": order, "best": _best(report["systems"], order)}]
    clip["unit"] = "clips (segments)"
    video_order = [s for s in order if s in video["systems"]]
    return [clip | {"order": order, "best": _best(report["systems"], order)},
            {"id": "systems-video", "level": "video", "n": video["n"], "unit": "videos",
             "aggregation": video.get("aggregation"), "systems": video["systems"], "order": video_order,
             "best": _best(video["systems"], video_order)}]


def _best(systems: dict, order: list[str]) -> dict:
    """The best value of each column over ``systems`` (higher or lower, per COLUMNS)."""
    best = {}
    for key, _, higher in COLUMNS:
        values = [systems[s].get(key) for s in order if systems[s].get(key) is not None]
        if values:
            best[key] = max(values) if higher else min(values)
    return best


def _curves(training: list[dict], width: int = 640, height: int = 220, pad: int = 30) -> dict | None:
    """Validation macro-F1 per epoch of every member, as SVG polylines (y from 0 to 1)."""
    runs = [t for t in training if t["history"]]
    if not runs:
        return None
    last = max(h["epoch"] for t in runs for h in t["history"]) or 1
    x = lambda epoch: pad + (width - 2 * pad) * epoch / last  # noqa: E731
    y = lambda value: height - pad - (height - 2 * pad) * value  # noqa: E731
    series = []
    for t in runs:
        dots = [{"x": round(x(h["epoch"]), 1), "y": round(y(h["val_f1_macro"]), 1),
                 "title": f"{t['name']} epoch {h['epoch']}: val macro-F1 {h['val_f1_macro']:.3f}"}
                for h in t["history"]]
        series.append({"name": t["name"], "points": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots})
    ticks = {"x": [{"at": round(x(e), 1), "label": e} for e in sorted({0, last // 2, last})],
             "y": [{"at": round(y(v), 1), "label": f"{v:.1f}"} for v in (0.0, 0.5, 1.0)]}
    return {"width": width, "height": height, "pad": pad, "series": series, "ticks": ticks}


@bp.get("/<bundle_id>/files/<path:filename>")
def report_file(bundle_id: str, filename: str):
    """A plot of the bundle's report folder (PNG only; send_from_directory refuses paths outside it)."""
    bundles, _ = _bundles()
    if bundle_id not in bundles or not filename.endswith(".png"):
        abort(404, "No such plot.")
    return send_from_directory(reports.report_dir(bundles[bundle_id]), filename, max_age=300)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Token login for the dashboard (a form; CSRF-protected)."""
    target = safe_target(request.args.get("next", ""), url_for("dashboard.show"))
    if not current_app.config["DASHBOARD_TOKEN"]:
        return redirect(target if dashboard_open() else url_for("ui.login", next=target))
    failed = False
    if request.method == "POST":
        if log_in_dashboard(request.form.get("token")):
            return redirect(target)
        failed = True
    return render_template("login.html", failed=failed, next=target, action=url_for("dashboard.login", next=target),
                           heading="Dashboard login",
                           hint="The dashboard is for reviewers. Enter the dashboard token you were given."), \
        401 if failed else 200


@bp.post("/logout")
def logout():
    log_out()
    return redirect(url_for("ui.index"))
