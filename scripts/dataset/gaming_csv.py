#!/usr/bin/env python3
"""Write datasets/more4/parts/Gaming.csv from the Gaming clips (reads each clip back with ffprobe)."""
import csv, glob, os, subprocess
ROOT = "/work/main/datasets/more4"
V = "on a virtual display (Xvfb, software GL), driven by xdotool"
# slug -> (source, licence from /usr/share/doc/<pkg>/copyright, notes)
SRC = {
 "chromium-bsu": ("Debian package chromium-bsu 0.9.16.1 (recorded " + V + ")", "Clarified-Artistic", "vertical space shooter; menu + gameplay, 800x600 screen"),
 "lbreakout2": ("Debian package lbreakout2 2.6.5 (recorded " + V + ")", "GPL", "breakout clone; menus + gameplay, 640x480 screen"),
 "frozen-bubble": ("Debian package frozen-bubble 2.212 (recorded " + V + ")", "GPL-2", "bubble shooter; menu + 1-player game, 640x480 screen"),
 "minetest": ("Debian package minetest 5.6.1 with minetest-data (Minetest Game, recorded " + V + ")", "LGPL-2.1+ (engine), CC-BY-SA-3.0 (media)", "3-D voxel sandbox, first person; 960x540 window"),
 "flight-of-the-amazon-queen": ("Debian package flight-of-the-amazon-queen 1.0.0 in scummvm 2.7.0 (intro, recorded " + V + ")", "Flight-of-the-Amazon-Queen-License (freeware)", "1990s point-and-click adventure, in-engine intro; native 320x200"),
 "blobby": ("Debian package blobby 1.0 (Blobby Volley 2, recorded " + V + ")", "GPL-2+", "2-D volleyball match; 800x600 screen"),
 "bzflag": ("Debian package bzflag-client 2.4.26 with bzflag-server (local server, 4 robot tanks, recorded " + V + ")", "LGPL-2.1 or MPL", "3-D tank battle, first person with radar/HUD; 1280x800 window"),
 "lincity-ng": ("Debian package lincity-ng 2.9~git20150314 (scenario good_times, recorded " + V + ")", "GPL-2+", "isometric city-building sim; map scrolling + UI panels, 1024x768 window"),
 "aisleriot": ("Debian package aisleriot 3.22.23 (Klondike, recorded " + V + ")", "GPL-3+", "solitaire card game (Klondike); cards dealt and moved, 720x720 screen"),
 "pingus": ("Debian package pingus 0.7.6 (level Crawlspace, recorded " + V + ")", "GPL-2+", "Lemmings-like 2-D puzzle; HUD + playfield, 1024x576 window"),
}
rows = []
for f in sorted(glob.glob(ROOT + "/clips/Gaming/*.mp4")):
    slug = os.path.basename(f).split("__")[0]
    src, lic, notes = SRC[slug]
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-count_frames", "-show_entries",
                          "stream=width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", f],
                         capture_output=True, text=True).stdout.strip().split(",")
    w, h, rate, n = int(out[0]), int(out[1]), out[2], int(out[3])
    num, den = map(int, rate.split("/")); fps = num / den
    rows.append([os.path.relpath(f, ROOT), "Gaming", src, lic, "package", round(n / fps, 3), w, h, round(fps, 3), notes])
os.makedirs(ROOT + "/parts", exist_ok=True)
with open(ROOT + "/parts/Gaming.csv", "w", newline="") as fh:
    wr = csv.writer(fh); wr.writerow(["path", "label", "source", "license", "origin", "duration_s", "width", "height", "fps", "notes"]); wr.writerows(rows)
print(len(rows), "rows")
