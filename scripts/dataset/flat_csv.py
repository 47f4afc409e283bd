#!/usr/bin/env python3
"""Write datasets/more4/parts/Flat_Content.csv from the clips on disk (reads every clip back with ffprobe)."""
import csv, glob, json, os, subprocess
ROOT = "/work/main/datasets/more4"
# slug -> (source string, licence, note)
SRC = {
 "chromium-python3-doc": ("Debian packages chromium 156 + python3-doc 3.11 (browser scrolling the Python docs, recorded on a virtual display)", "BSD-3-clause (chromium); PSF-2.0 (python3-doc)", "1280x720 screen, light theme"),
 "dillo-debian-reference": ("Debian packages dillo 3.0.5 + debian-reference-en 2.100 (browser reading the Debian Reference HTML, recorded on a virtual display)", "GPL-3+ (dillo); GPL-2+ (debian-reference)", "1024x768 screen"),
 "geany-ide": ("Debian package geany 1.38 (IDE scrolling and typing Python code, recorded on a virtual display)", "GPL-2+", "960x540 screen, code from python3.11 json/decoder.py"),
 "mousepad-editor-dark": ("Debian package mousepad 0.5.10 (text editor with dark theme, recorded on a virtual display)", "GPL-2+", "720x720 screen, Adwaita dark, GPL-3 text scrolled then typing"),
 "mupdf-asymptote-manual": ("Debian packages mupdf 1.21 + asymptote-doc 2.85 (PDF viewer paging the Asymptote manual, recorded on a virtual display)", "AGPL-3+ (mupdf); LGPL-3+ (asymptote-doc)", "portrait 540x960 screen"),
 "zathura-libtasn1-manual": ("Debian packages zathura 0.5.2 + libtasn1-doc 4.19 (PDF viewer reading the libtasn1 manual, recorded on a virtual display)", "Zlib (zathura); GFDL-1.3 (libtasn1-doc)", "800x600 screen, normal then recoloured dark mode"),
 "gnumeric-spreadsheet-dark": ("Debian package gnumeric 1.12.55 (spreadsheet data entry, dark theme, recorded on a virtual display)", "GPL-2+", "1280x800 screen, Adwaita dark"),
 "abiword-wordprocessor": ("Debian package abiword 3.0.5 (word processor typing a letter, recorded on a virtual display)", "GPL-2+", "1024x768 screen"),
 "galculator-calculator": ("Debian package galculator 2.1.4 (calculator driven from the keyboard, recorded on a virtual display)", "GPL-2+", "portrait 480x640 screen"),
 "dia-diagram-editor": ("Debian packages dia 0.97.3 + dia-common examples (diagram editor showing UML-demo.dia, recorded on a virtual display)", "GPL-2+", "1280x720 screen, menus and zooming"),
 "pcmanfm-filemanager": ("Debian package pcmanfm 1.3.2 (file manager browsing /usr/share, recorded on a virtual display)", "GPL-2+", "960x720 screen, icon/list/compact views"),
}
rows = []
for p in sorted(glob.glob(f"{ROOT}/clips/Flat_Content/*.mp4")):
    slug = os.path.basename(p).split("__")[0]
    key = slug if slug in SRC else slug.replace("-dark", "")
    src, lic, note = SRC[key]
    s = json.loads(subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
        "-show_entries", "stream=width,height,r_frame_rate,nb_read_frames", "-of", "json", p]))["streams"][0]
    n, d = map(int, s["r_frame_rate"].split("/")); fps = n / d; frames = int(s["nb_read_frames"])
    rows.append([os.path.relpath(p, ROOT), "Flat_Content", src, lic, "package", round(frames / fps, 3), s["width"], s["height"], round(fps, 3), note])
os.makedirs(f"{ROOT}/parts", exist_ok=True)
with open(f"{ROOT}/parts/Flat_Content.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow("path,label,source,license,origin,duration_s,width,height,fps,notes".split(",")); w.writerows(rows)
print(len(rows), "rows")
