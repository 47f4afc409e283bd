"""Shared helpers for the more4 recipes that cut clips out of files inside fetched GitHub repositories
(gaming_fetched.py, flat_fetched.py): read a file at a pinned commit of a bare git dir, encode segments in
the more4 format (animation_lib.encode: H.264 High, yuv420p, faststart, no audio, short side <= cap, never
upscaled, fps capped at 30), and (re)write their rows in datasets/more4/parts/<Label>.csv.

A SOURCES table maps a key to dict(repo, commit, license, what, slug, items=[(path, name, [(start, dur), ...],
extra_vf or None, short side, fps or None), ...], notes). GIFs are converted to constant frame rate (the
source rate capped at 30, at least 10 fps); fps=N forces a rate (e.g. for a slide GIF at 0.25 fps).
"""
import csv, os, shutil, subprocess, tempfile
from animation_lib import ROOT, HEADER, encode, probe

__all__ = ["run"]


def _record(label, rows_new):
    path = os.path.join(ROOT, "parts", label + ".csv")
    rows = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f)]
    new_paths = {r["path"] for r in rows_new}
    rows = [r for r in rows if r["path"] not in new_paths] + rows_new
    rows.sort(key=lambda r: r["path"])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)


def run(label, sources, key, gitdir):
    """Cut every segment of SOURCES[key] out of the repository at gitdir; replace that source's rows."""
    S = sources[key]
    outdir = os.path.join(ROOT, "fetched", label)
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):                      # drop stale clips of this source
        if f.startswith(S["slug"] + "__"):
            os.remove(os.path.join(outdir, f))
    source = "GitHub %s (%s)" % (S["repo"], S["what"])
    tmp = tempfile.mkdtemp(prefix="fetched-")
    rows, seg = [], 0
    for path, name, cuts, vf, short, fps in S["items"]:
        local = os.path.join(tmp, "in" + os.path.splitext(path)[1])
        with open(local, "wb") as f:
            subprocess.run(["git", "--git-dir", gitdir, "show", "%s:%s" % (S["commit"], path)], stdout=f, check=True)
        if fps is None and path.lower().endswith(".gif"):
            fps = max(10.0, min(30.0, probe(local)[2]))   # GIF: constant frame rate, 10..30 fps
        for start, dur in cuts:
            out = os.path.join(outdir, "%s__%s__seg%02d.mp4" % (S["slug"], name, seg))
            encode(local, out, start, dur, fps=fps, extra_vf=vf, short=short)
            w, h, r, n = probe(out)
            d = n / r
            end = "%.2f" % (start + dur) if dur else "end"
            rows.append(dict(path=os.path.relpath(out, ROOT), label=label, source=source, license=S["license"],
                             origin="fetched", duration_s="%.3f" % d, width=w, height=h,
                             fps=("%.3f" % r).rstrip("0").rstrip("."),
                             notes="%s@%s t=%.2f-%ss; %s" % (path, S["commit"][:10], start, end, S["notes"])))
            flag = "" if 3.0 <= d <= 10.0 else "  WARNING: duration outside 3-10 s"
            print("%s: %dx%d %.3f fps %.2f s%s" % (rows[-1]["path"], w, h, r, d, flag))
            seg += 1
    # this source's rows are replaced as a whole
    path = os.path.join(ROOT, "parts", label + ".csv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            keep = [r for r in csv.DictReader(f)
                    if not (r["origin"] == "fetched" and os.path.basename(r["path"]).startswith(S["slug"] + "__"))]
        with open(path, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=HEADER)
            wr.writeheader()
            wr.writerows(keep)
    _record(label, rows)
    shutil.rmtree(tmp)
