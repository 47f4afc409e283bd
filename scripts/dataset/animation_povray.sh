#!/bin/bash
# Animation clips rendered with POV-Ray from the Debian povray-examples scenes (3-D CGI).
# Each scene set = one source: official animation examples (camera2, splinefollow) are rendered as they
# are (clock 0..1 over more frames); still scenes (woodbox, biscuit) get an orbiting camera (the camera's
# first `location` is rotated about the y axis by the clock). The frame sequence is cut into 3 consecutive,
# non-overlapping segments. Usage: animation_povray.sh [SCENE...]   (default: all)
set -euo pipefail
command -v povray >/dev/null || apt-get install -y povray povray-examples ffmpeg
HERE=$(cd "$(dirname "$0")" && pwd)
EX=/usr/share/doc/povray/examples
TMP=${TMPDIR:-/tmp}/anim-povray; mkdir -p "$TMP"

# name: scene file | W H | fps | frames per segment | orbit degrees over the whole render (0 = as is) | extra povray opts | final clock
# (splinefollow: 6 aircraft 1/6 apart repeat every 1/6 of the clock, so only clock 0..1/6 is rendered, keeping segments distinct)
declare -A SCN=(
  [camera2]="$EX/animations/camera2/camera2.pov|360 360|24|80|0|+A0.2|1"
  [splinefollow]="$EX/animations/splinefollow/splinefollow.pov|640 360|25|76|0|+A0.3|0.16667"
  [woodbox]="$EX/advanced/woodbox.pov|480 360|15|52|150|+A0.3|1"
  [biscuit]="$EX/advanced/biscuit.pov|320 240|15|50|100|+A0.3|1"
)

render() {  # render NAME into $TMP/NAME/fNNNN.png and encode 3 segments
  local name=$1; IFS='|' read -r pov size fps seg orbit opts kend <<<"${SCN[$name]}"
  local W=${size% *} H=${size#* } dir=$TMP/$name n=$((3 * seg))
  mkdir -p "$dir"; local src=$dir/scene.pov
  if [ "$orbit" != 0 ]; then   # orbiting camera around the origin
    sed -E "0,/location +(<[^>]*>)/s//location vrotate(\1, y*($orbit*clock-$orbit\/2))/" "$pov" > "$src"
  else cp "$pov" "$src"; fi
  [ "$(ls "$dir" | grep -c "^f.*png$")" -ge $n ] || nice -n 10 povray +I"$src" +L"$(dirname "$pov")" +L/usr/share/povray-3.7/include \
      +W$W +H$H +Q9 $opts -D +FN +O"$dir/f.png" +KFI1 +KFF$n +KI0 +KF$kend >/dev/null 2>"$dir/log"
  ls "$dir"/f*.png | sort > "$dir/list"
  for s in 0 1 2; do
    local out=$HERE/../../datasets/more4/clips/Animation/povray-${name}__orbit__seg0$s.mp4
    [ "$orbit" = 0 ] && out=${out/__orbit__/__anim__}
    python3 - "$dir" "$s" "$seg" "$fps" "$out" "$name" <<'PY'
import os, subprocess, sys
sys.path.insert(0, os.environ["HERE"])
from animation_lib import encode, record
d, s, seg, fps, out, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
frames = sorted(f for f in os.listdir(d) if f.startswith("f") and f.endswith(".png"))[s * seg:(s + 1) * seg]
lst = os.path.join(d, f"seg{s}.txt")
with open(lst, "w") as f:
    f.writelines(f"file '{os.path.join(d, x)}'\nduration {1/float(fps):.6f}\n" for x in frames)
tmp = os.path.join(d, f"seg{s}.mkv")   # lossless intermediate at the right rate
subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", lst, "-vf", f"fps={fps}",
                "-frames:v", str(len(frames)), "-c:v", "ffv1", tmp], check=True)
encode(tmp, out, fps=float(fps))
record(out, f"Debian package povray-examples 3.7 ({name} scene rendered with POV-Ray)", "CC-BY-3.0 (scenes), AGPL-3.0+ (POV-Ray)",
       "generated", "3-D CGI ray-traced render" + (", orbiting camera" if "orbit" in out else ", the scene's own clock animation"))
PY
  done
}
export HERE
for name in "${@:-camera2 splinefollow woodbox biscuit}"; do render "$name"; done
