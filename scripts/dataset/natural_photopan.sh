#!/bin/bash
# more4 / Natural_Content supplement: SYNTHETIC camera motion (slow pan / zoom) over real still
# photographs shipped in the PyPI wheel scikit-image 0.26.0 (skimage/data). Marked as such in notes.
# Writes datasets/more4/clips/Natural_Content/skimage__*.mp4 and replaces the skimage rows of
# datasets/more4/parts/Natural_Content.csv.  Needs: pip, unzip, ffmpeg, python3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../datasets/more4" && pwd)
OUT=$ROOT/clips/Natural_Content; CSV=$ROOT/parts/Natural_Content.csv
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"; rm -f "$OUT"/skimage__*.mp4
# 1. get the wheel (no install) and unpack the five photographs
pip download -q --no-deps --only-binary :all: -d "$T" scikit-image==0.26.0
unzip -q -o "$T"/scikit_image-0.26.0-*.whl 'skimage/data/astronaut.png' 'skimage/data/chelsea.png' \
  'skimage/data/coffee.png' 'skimage/data/rocket.jpg' 'skimage/data/motorcycle_left.png' -d "$T"
D=$T/skimage/data
ENC=(-c:v libx264 -profile:v high -preset veryfast -crf 27 -pix_fmt yuv420p -movflags +faststart -an)
# 2. one clip per photo: 6 s, every frame a new crop/zoom (4x upscale first so motion is sub-pixel smooth)
pan() { # IMG NAME FPS CW CH X0 Y0 X1 Y1 OW OH : window CWxCH (image px) moves from (X0,Y0) to (X1,Y1)
  ffmpeg -y -loglevel error -loop 1 -framerate "$3" -i "$D/$1" -t 6 -vf \
   "scale=iw*4:ih*4,crop=$(( $4*4 )):$(( $5*4 )):x='4*($6+($8-$6)*t/6)':y='4*($7+($9-$7)*t/6)',scale=${10}:${11},format=yuv420p" \
   "${ENC[@]}" "$OUT/skimage__$2__seg00.mp4"; }
zoom() { # IMG NAME FPS Z0 Z1 CX CY OW OH : zoom Z0->Z1 about (CX,CY) as a fraction of the image
  n=$(( $3*6 ))
  ffmpeg -y -loglevel error -i "$D/$1" -vf \
   "scale=iw*4:ih*4,zoompan=z='$4+($5-$4)*on/$n':x='iw*$6-iw/zoom/2':y='ih*$7-ih/zoom/2':d=$n:s=$8x$9:fps=$3,format=yuv420p" \
   -frames:v $n "${ENC[@]}" "$OUT/skimage__$2__seg00.mp4"; }
zoom astronaut.png astronaut 25 1.0 1.35 0.45 0.40 360 360       # square, slow push-in
pan  chelsea.png   chelsea   24 390 260 0 40 61 0 390 260         # 3:2, small source (not upscaled)
zoom coffee.png    coffee    30 1.3 1.0 0.5 0.5 540 360           # 3:2, pull-out
pan  rocket.jpg    rocket    25 240 427 0 0 400 0 202 360         # portrait window sliding across
pan  motorcycle_left.png motorcycle 15 600 450 0 0 141 50 480 360 # 4:3, diagonal drift
# 3. CSV rows (read back with ffprobe)
python3 - "$ROOT" "$CSV" <<'EOF'
import csv, os, subprocess, sys, glob
from fractions import Fraction
root, path = sys.argv[1:]
H = ['path','label','source','license','origin','duration_s','width','height','fps','notes']
rows = []
if os.path.exists(path):
    rows = [r for r in csv.DictReader(open(path)) if not os.path.basename(r['path']).startswith('skimage__')]
for f in sorted(glob.glob(os.path.join(root, 'clips/Natural_Content/skimage__*.mp4'))):
    q = dict(l.split('=', 1) for l in subprocess.run(['ffprobe','-v','error','-select_streams','v:0','-count_frames',
        '-show_entries','stream=width,height,avg_frame_rate,nb_read_frames','-of','default=nw=1',f],
        capture_output=True, text=True, check=True).stdout.split())
    r = Fraction(q['avg_frame_rate']); name = os.path.basename(f).split('__')[1]
    rows.append(dict(path=os.path.relpath(f, root), label='Natural_Content',
        source='PyPI scikit-image 0.26.0 wheel (skimage/data photographs, animated with a slow pan/zoom)',
        license='BSD-3-Clause (photos public domain / CC0 per skimage.data)', origin='package',
        duration_s='%.3f' % (int(q['nb_read_frames']) / r), width=q['width'], height=q['height'], fps='%g' % round(float(r), 3),
        notes='synthetic camera motion over a still photo (skimage/data %s)' % name))
w = csv.DictWriter(open(path, 'w', newline=''), H); w.writeheader(); w.writerows(rows)
EOF
echo done
