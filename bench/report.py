"""Turn the results dict into the printed tables and the PASS/MISS lines for each target.

Everything printed is computed from the same dict that is written as JSON, so the two never
disagree. Times are medians of warm runs in seconds, with the spread as (min-max).
"""
from __future__ import annotations

from bench.timing import median

# The targets (2-core CPU, default bundle, no TTA).
E2E_LIMIT_S = 1.0
VS_EXISTING = 20.0
VS_VIDEOMAE = 4.0
NEAR_LIMIT = 1.5
RSS_GROWTH = 1.10
GPU_FPS = 3000.0


# -- small formatters -----------------------------------------------------------------------------
def s(stats: dict | None, spread: bool = True) -> str:
    m = median(stats)
    if m is None:
        return "-"
    if not spread or stats["n"] < 2:
        return _sec(m)
    return f"{_sec(m)} ({_sec(stats['min_s'])}-{_sec(stats['max_s'])})"


def _sec(v: float) -> str:
    return f"{v:#.3g}" if v < 100 else f"{v:.0f}"


def x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}x"


def fps(frames: int | None, seconds: float | None) -> str:
    return "-" if not frames or not seconds else f"{frames / seconds:.0f}"


def div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *[line(r) for r in rows]])


# -- derived numbers per clip ---------------------------------------------------------------------
def derive(clip: dict) -> dict:
    """Ratios and limit comparisons of one clip's results (None where not measured)."""
    ours = median(clip["ours"]["no_tta"]["e2e"])
    ours_tta = median(clip["ours"]["tta"]["e2e"]) if clip["ours"].get("tta") else None
    st = clip["ours"]["no_tta"]["stages"]
    ex, vm, lim = clip.get("existing"), clip.get("videomae"), clip["limits"]
    dec_only = median(lim["decode_only"].get("pyav"))
    bb_only = lim.get("backbone_only_s")
    return {
        "existing_over_ours": div(median(ex["e2e"]), ours) if ex else None,
        "existing_tta_over_ours_tta": div(median(ex["e2e_tta"]), ours_tta) if ex else None,
        "videomae_over_ours": div(median(vm["e2e"]), ours) if vm else None,
        "e2e_over_limit": div(ours, (dec_only or 0) + (bb_only or 0)) if dec_only and bb_only else None,
        "features_over_backbone_only": div(median(st["features"]), bb_only),
        "decode_over_decode_only": div(median(st["decode"]), dec_only),
    }


# -- targets --------------------------------------------------------------------------------------
def _target(name: str, checks: list[tuple[bool, str]], missing: str) -> dict:
    if not checks:
        return {"target": name, "pass": None, "detail": missing}
    return {"target": name, "pass": all(ok for ok, _ in checks), "detail": "; ".join(d for _, d in checks)}


def targets(res: dict) -> list[dict]:
    clips = res["clips"]
    out = []
    checks = []
    for c in clips:
        if c["clip"]["is_10s_360p"]:
            m = median(c["ours"]["no_tta"]["e2e"])
            checks.append((m <= E2E_LIMIT_S, f"{c['clip']['name']} {m:.2f} s"))
    out.append(_target(f"10-s 360p clip end to end <= {E2E_LIMIT_S} s (median, warm, no TTA)", checks,
                       "no 10-s 360p clip in this run"))
    checks = [(r >= VS_EXISTING, f"{c['clip']['name']} {r:.1f}x") for c in clips
              if (r := c["derived"]["existing_over_ours"]) is not None]
    out.append(_target(f">= {VS_EXISTING:.0f}x faster than the existing approach (per clip)", checks,
                       "existing approach not run (--skip-existing)"))
    checks = []
    for c in clips:
        r = c["derived"]["videomae_over_ours"]
        if r is not None:
            ours_n, vm_n = c["frames"]["base"], c["videomae"]["frames"]
            checks.append((r >= VS_VIDEOMAE and ours_n > vm_n,
                           f"{c['clip']['name']} {r:.1f}x, {ours_n} vs {vm_n} frames"))
    out.append(_target(f">= {VS_VIDEOMAE:.0f}x faster than the VideoMAE pipeline, sampling more frames", checks,
                       "VideoMAE not run (--skip-videomae)"))
    for key, name in (("e2e_over_limit", "end to end <= 1.5x (decode-only + backbone-only for the frames sampled)"),
                      ("features_over_backbone_only", "features stage <= 1.5x backbone-only"),
                      ("decode_over_decode_only", "decode stage <= 1.5x decode-only")):
        checks = [(r <= NEAR_LIMIT, f"{c['clip']['name']} {r:.2f}x") for c in clips
                  if (r := c["derived"][key]) is not None]
        out.append(_target(name, checks, "not measured"))
    rss = {r.get("label"): r for r in res.get("peak_rss", [])}
    one, ten = rss.get("ours 720p 1 min"), rss.get("ours 720p 10 min")
    if one and ten and one.get("peak_rss_mb") and ten.get("peak_rss_mb"):
        g = ten["peak_rss_mb"] / one["peak_rss_mb"]
        checks = [(g <= RSS_GROWTH, f"10 min {ten['peak_rss_mb']:.0f} MB vs 1 min {one['peak_rss_mb']:.0f} MB "
                                    f"({(g - 1) * 100:+.1f}%)")]
    else:
        checks = []
    out.append(_target(f"peak RSS does not grow with video length (10 min within {RSS_GROWTH - 1:.0%} of 1 min)",
                       checks, "not measured (long videos skipped or a child failed)"))
    extra = res.get("extra_backbone")
    if extra and extra.get("device", "").startswith("cuda"):
        out.append(_target(f"GPU: >= {GPU_FPS:.0f} frames/s of {extra['backbone']} features at {extra['size']} px",
                           [(extra["fps"] >= GPU_FPS, f"{extra['fps']:.0f} frames/s on {extra.get('gpu')}")], ""))
    return out


# -- the printed report ---------------------------------------------------------------------------
def _header(res: dict) -> list[str]:
    o, ex, vm = res["ours_model"], res.get("existing_system"), res.get("videomae_system")
    lines = [f"ours: bundle {o['name']} ({'trained' if o['trained'] else 'UNTRAINED wiring stand-in'}), "
             f"{o['members']} members, {o['max_frames']} frames x scales {o['scales']}, {o['backbone']} on "
             f"{o['engine']}/{o['device']}"]
    if ex:
        lines.append(f"existing approach (re-implemented, random weights): EfficientNet-V2-S fp32 NCHW 256 px "
                     f"({ex['cnn_params'] / 1e6:.1f} M params) on {ex['frames_per_video']} frames by OpenCV seeks, "
                     f"{ex['members']} x {ex['member_params'] / 1e6:.1f} M-param BiLSTM members in sequence")
    if vm:
        lines.append(f"VideoMAE: transformers {vm['transformers']} {vm['mode']}, VideoMAE-base "
                     f"({vm['params'] / 1e6:.1f} M params, random weights), {vm['frames']} frames")
    return lines + [f"WARNING: {w}" for w in res.get("warnings", [])]


def _e2e_table(res: dict) -> list[str]:
    rows = []
    for c in res["clips"]:
        cl, d, ex, vm = c["clip"], c["derived"], c.get("existing"), c.get("videomae")
        rows.append([f"{cl['name']} ({cl['width']}x{cl['height']}, {cl['duration_s']:.1f} s)", str(c["frames"]["base"]),
                     s(c["ours"]["no_tta"]["e2e"]), s(c["ours"]["tta"]["e2e"]),
                     s(ex["e2e"]) if ex else "-", s(ex["e2e_tta"], False) if ex else "-", s(vm["e2e"]) if vm else "-",
                     x(d["existing_over_ours"]), x(d["existing_tta_over_ours_tta"]), x(d["videomae_over_ours"])])
    return ["", "End to end per clip, seconds: median (min-max), warm",
            table(["clip", "ours frames", "ours", "ours TTA", "existing", "existing TTA", "VideoMAE",
                   "existing/ours", "TTA: existing/ours", "VideoMAE/ours"], rows)]


def _stages_table(res: dict) -> list[str]:
    rows = []
    for c in res["clips"]:
        st, n, lim, d = c["ours"]["no_tta"]["stages"], c["frames"]["backbone"], c["limits"], c["derived"]
        dec = lim["decode_only"]
        rows.append([c["clip"]["name"], str(n),
                     f"{s(st['decode'], False)} ({fps(n, median(st['decode']))}/s)",
                     f"{s(dec['pyav'], False)} ({dec['pyav']['fps']:.0f}/s)",
                     s(dec.get("opencv_grab"), False),
                     f"{s(st['features'], False)} ({fps(n, median(st['features']))}/s)",
                     f"{_sec(lim['backbone_only_s'])} ({fps(n, lim['backbone_only_s'])}/s)",
                     s(st["temporal"], False), s(c["ours"]["tta"]["stages"]["temporal"], False),
                     x(d["decode_over_decode_only"]), x(d["features_over_backbone_only"]), x(d["e2e_over_limit"])])
    return ["", "Stages vs physical limits, seconds (frames/s): ours' stages from the no-TTA runs above; "
                "N = frames ours samples; decode-only decodes every frame of the file",
            table(["clip", "N", "decode+sample (N/s)", "decode-only PyAV", "OpenCV grab-all", "features (N/s)",
                   "backbone-only N", "temporal", "temporal TTA", "dec/limit", "feat/limit", "e2e/limit"], rows)]


def _existing_table(res: dict) -> list[str]:
    rows = []
    for c in res["clips"]:
        if e := c.get("existing"):
            st = e["stages"]
            rows.append([c["clip"]["name"], str(e["frames"]), s(st["decode"], False), s(st["features"], False),
                         s(st["temporal"], False), s(e["temporal_tta"], False), s(e["e2e"], False)])
    if not rows:
        return []
    return ["", f"Existing approach, stages (seconds; {res['existing_system']['runs_note']})",
            table(["clip", "frames", "decode (seeks)", "features (V2-S)", "temporal", "temporal TTA", "total"], rows)]


def _long_table(res: dict) -> list[str]:
    rows = []
    for v in res.get("long_videos", []):
        st, dec = v["ours"]["stages"], v["limits"]["decode_only"]
        rows.append([v["video"]["name"], str(dec["pyav"]["frames"]), s(v["ours"]["e2e"]), s(st["decode"], False),
                     s(st["features"], False), f"{s(dec['pyav'], False)} ({dec['pyav']['fps']:.0f}/s)",
                     s(dec.get("pyav_keyframes"), False)])
    if not rows:
        return []
    return ["", "Generated long videos (1280x720 H.264, 30 fps, keyframe every 2 s), ours no TTA, seconds",
            table(["video", "frames in file", "ours e2e", "decode+sample", "features", "decode-only PyAV (all)",
                   "keyframes only"], rows)]


def _backbone_lines(res: dict) -> list[str]:
    bb = res["backbone_only"]
    eng = ", ".join(f"{k} {v['fps']:.0f} frames/s" if "fps" in v else f"{k} unavailable"
                    for k, v in bb["engines"].items())
    lines = ["", f"Backbone-only {bb['backbone']} (random uint8 frames, batch {bb['batch_size']}): {eng}; "
                 f"fastest: {bb['fastest']}"]
    if e := res.get("extra_backbone"):
        lines.append(f"Extra backbone {e['backbone']} at {e['size']} px on {e['device']} ({e['engine']}, batch "
                     f"{e['batch_size']}): {e['fps']:.0f} frames/s")
    if g := res.get("gpu"):
        lines.append(f"GPU {g['name']}: backbone {g['backbone_fps']:.0f} frames/s; ours e2e "
                     + ", ".join(f"{k} {s(v, False)} s ({fps(g['frames'][k], median(v))} frames/s)"
                                 for k, v in g["e2e"].items()))
    return lines


def _rss_table(res: dict) -> list[str]:
    rows = [[r["label"], f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else "-",
             f"{r['rss_after_load_mb']:.0f}" if r.get("rss_after_load_mb") else "-", r.get("error", "")]
            for r in res.get("peak_rss", [])]
    if not rows:
        return []
    return ["", "Peak RSS, each case in a fresh process (MB)", table(["case", "peak RSS", "after load", "error"], rows)]


def _target_lines(res: dict) -> list[str]:
    flags = {True: "PASS", False: "MISS", None: "n/a "}
    return (["", "Targets (2-core CPU, default bundle, no TTA)"]
            + [f"  {flags[t['pass']]}  {t['target']}: {t['detail']}" for t in res["targets"]]
            + [f"note: {n}" for n in res.get("notes", [])])


def _footer(res: dict) -> list[str]:
    m = res["machine"]
    return ["", f"machine: {m['summary']}",
            f"load average at start {m['load_average_start']}, at end {m.get('load_average_end')}; "
            f"bench wall time {res['wall_s']:.0f} s; JSON: {res['out']}"]


def render(res: dict) -> str:
    sections = (_header, _e2e_table, _stages_table, _existing_table, _long_table, _backbone_lines, _rss_table,
                _target_lines, _footer)
    return "\n".join(line for section in sections for line in section(res))
