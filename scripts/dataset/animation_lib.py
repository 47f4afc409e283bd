"""Shared helpers for the more4 Animation clips: encode one segment in the more4 format,
read it back with ffprobe and (re)write its row in datasets/more4/parts/Animation.csv."""
import csv, json, os, subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "datasets", "more4")
ROOT = os.path.normpath(ROOT)
CSV = os.path.join(ROOT, "parts", "Animation.csv")
HEADER = ["path", "label", "source", "license", "origin", "duration_s", "width", "height", "fps", "notes"]


def probe(path):
    """(width, height, fps as float, frame count) of the first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                          "-show_entries", "stream=width,height,r_frame_rate,nb_read_frames",
                          "-of", "json", path], capture_output=True, text=True, check=True).stdout
    s = json.loads(out)["streams"][0]
    n, d = s["r_frame_rate"].split("/")
    return int(s["width"]), int(s["height"]), float(n) / float(d), int(s["nb_read_frames"])


def target_size(w, h, short=360):
    """Short side at most `short` (never upscaled), aspect kept, even dimensions."""
    k = min(1.0, short / min(w, h))
    ev = lambda x: max(2, int(round(x * k / 2)) * 2)
    return ev(w), ev(h)


def encode(src, out, start=0.0, dur=None, fps=None, loops=1, extra_vf=None, short=360):
    """Cut [start, start+dur) of src into out (H.264 High, yuv420p, faststart, no audio).
    fps: output rate (default: source rate capped at 30). loops>1 plays the input that many times."""
    w, h, sfps, _ = probe(src)
    if extra_vf and extra_vf.startswith("crop="):  # size after a leading crop=W:H:X:Y
        w, h = (int(v) for v in extra_vf[5:].split(",")[0].split(":")[:2])
    tw, th = target_size(w, h, short)
    rate = fps or min(30.0, sfps)
    vf = (extra_vf + "," if extra_vf else "") + f"scale={tw}:{th}:flags=lanczos,fps={rate:g},format=yuv420p"
    cmd = ["ffmpeg", "-y", "-loglevel", "error"]
    if loops > 1:
        cmd += ["-stream_loop", str(loops - 1)]
    if start:
        cmd += ["-ss", f"{start:.3f}"]
    cmd += ["-i", src]
    if dur:
        cmd += ["-t", f"{dur:.3f}"]
    cmd += ["-vf", vf, "-c:v", "libx264", "-profile:v", "high", "-preset", "veryfast", "-crf", "27",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an", out]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["nice", "-n", "10"] + cmd, check=True)
    return out


def record(out, source, license, origin, notes=""):
    """Add (or replace) the CSV row of clip `out` with values read back from the file."""
    w, h, fps, n = probe(out)
    rel = os.path.relpath(out, ROOT)
    rows = []
    if os.path.exists(CSV):
        with open(CSV, newline="") as f:
            rows = [r for r in csv.DictReader(f)   # drop this clip's old row and rows of deleted clips
                    if r["path"] != rel and os.path.exists(os.path.join(ROOT, r["path"]))]
    rows.append(dict(path=rel, label="Animation", source=source, license=license, origin=origin,
                     duration_s=f"{n / fps:.3f}", width=w, height=h, fps=f"{fps:.3f}".rstrip("0").rstrip("."),
                     notes=notes))
    rows.sort(key=lambda r: r["path"])
    os.makedirs(os.path.dirname(CSV), exist_ok=True)
    with open(CSV, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=HEADER)
        wr.writeheader()
        wr.writerows(rows)
    dur = n / fps
    if not 3.0 <= dur <= 10.0:
        print(f"WARNING {rel}: {dur:.2f} s")
    print(f"{rel}: {w}x{h} {fps:.3f} fps {dur:.2f} s {os.path.getsize(out)//1024} KB")


def clip_path(kind, slug, name, seg):
    """kind: 'clips' (package/generated) or 'fetched'."""
    return os.path.join(ROOT, kind, "Animation", f"{slug}__{name}__seg{seg:02d}.mp4")
