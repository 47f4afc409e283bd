#!/bin/bash
# Animation clips from the 3-D CGI animations of the Debian package xscreensaver-gl (flyingtoasters,
# winduprobot), each drawn on the root window of a virtual display (Xvfb, software OpenGL) and recorded
# with ffmpeg x11grab; each recording is cut into 4 consecutive, non-overlapping segments.
# Usage: animation_xscreensaver.sh [DISPLAY_NUMBER]   (default 93)
set -euo pipefail
command -v /usr/libexec/xscreensaver/flyingtoasters >/dev/null || apt-get install -y --no-install-recommends xscreensaver-gl xvfb ffmpeg
HERE=$(cd "$(dirname "$0")" && pwd); N=${1:-93}; TMP=${TMPDIR:-/tmp}/anim-xscreensaver; mkdir -p "$TMP"
export DISPLAY=:$N LIBGL_ALWAYS_SOFTWARE=1 HERE

# hack | screen WxH | capture fps | segment seconds | hack options
for spec in "flyingtoasters|1024x768|20|5|" "winduprobot|960x540|15|6|-count 12"; do
  IFS='|' read -r hack size fps seg opts <<<"$spec"
  Xvfb :$N -screen 0 ${size}x24 -nolisten tcp >/dev/null 2>&1 & xpid=$!; sleep 2
  /usr/libexec/xscreensaver/$hack -root $opts >/dev/null 2>&1 & hpid=$!; sleep 4   # let it start
  nice -n 10 ffmpeg -y -loglevel error -f x11grab -draw_mouse 0 -video_size $size -framerate $fps -i :$N \
    -t $((4 * seg + 1)) -c:v libx264 -preset ultrafast -qp 0 "$TMP/$hack.mkv"
  kill $hpid $xpid; wait $hpid $xpid 2>/dev/null || true
  python3 - "$TMP/$hack.mkv" "$hack" "$seg" "$fps" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HERE"])
from animation_lib import clip_path, encode, record
src, hack, seg, fps = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
for s in range(4):
    out = clip_path("clips", f"xscreensaver-{hack}", "root", s)
    encode(src, out, start=0.5 + s * seg, dur=seg, fps=fps)   # constant capture rate
    record(out, f"Debian package xscreensaver-gl 6.06 ({hack}, recorded on a virtual display)",
           "HPND-style permissive (xscreensaver, Other_1 in /usr/share/doc/xscreensaver-gl/copyright)", "generated",
           "3-D CGI animation drawn with software OpenGL")
PY
done
