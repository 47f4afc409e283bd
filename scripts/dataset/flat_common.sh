#!/bin/bash
# Shared helpers for the Flat_Content (more4) desktop-application recordings.
# Usage: source this file, then: start_x W H; <launch app>; rec SECONDS FPS &; <drive with xdotool>; wait; cut_segs ...
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends xvfb xdotool ffmpeg openbox x11-utils >/dev/null  # what this recording needs
set -u
export DISPLAY=${FLAT_DISPLAY:-:92}
TMPD=${FLAT_TMP:-/tmp/more4-flat}
OUTD=${FLAT_OUT:-/work/main/datasets/more4/clips/Flat_Content}
mkdir -p "$TMPD" "$OUTD"
export XDG_CONFIG_HOME=$TMPD/config HOME=$TMPD/home NO_AT_BRIDGE=1
mkdir -p "$XDG_CONFIG_HOME" "$HOME"

start_x() {  # start_x W H : virtual screen + openbox window manager
  W=$1; H=$2; APPPID=""; WMPID=""; XPID=""
  Xvfb "$DISPLAY" -screen 0 ${W}x${H}x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!
  sleep 2
  openbox >/dev/null 2>&1 & WMPID=$!
  sleep 1
}
trap "stop_x" EXIT
stop_x() { kill $APPPID $WMPID $XPID 2>/dev/null; sleep 1; kill -9 $APPPID 2>/dev/null; true; }

maxwin() {  # maximise the newest window whose class matches $1 (waits for it)
  for i in $(seq 60); do WID=$(xdotool search --onlyvisible --class "$1" 2>/dev/null | tail -1); [ -n "$WID" ] && break; sleep 1; done
  xdotool windowactivate --sync "$WID" 2>/dev/null
  wmctrl_max "$WID"
}
wmctrl_max() { xdotool windowsize "$1" 100% 100% windowmove "$1" 0 0 2>/dev/null; xdotool key --window "$1" super+Up 2>/dev/null; true; }

rec() {  # rec SECONDS FPS : near-lossless capture of the whole screen into $TMPD/raw.mkv
  nice -n 10 ffmpeg -y -loglevel error -f x11grab -video_size ${W}x${H} -framerate $2 -draw_mouse 1 -i "$DISPLAY" \
    -t $1 -c:v libx264 -preset ultrafast -crf 12 -pix_fmt yuv444p "$TMPD/raw.mkv"
}

cut_segs() {  # cut_segs SLUG NAME FPS SEGLEN START1 [START2 ...] : non-overlapping clips, short side <= 360
  local slug=$1 name=$2 fps=$3 len=$4; shift 4; local n=${SEGBASE:-0}
  local sc="scale=-2:'min(360,ih)'"   # height <= 360 (portrait screens give e.g. 202x360)
  for s in "$@"; do
    out=$(printf '%s/%s__%s__seg%02d.mp4' "$OUTD" "$slug" "$name" $n)
    nice -n 10 ffmpeg -y -loglevel error -ss $s -i "$TMPD/raw.mkv" -t $len -vf "$sc,fps=$fps,format=yuv420p" \
      -c:v libx264 -profile:v high -preset veryfast -crf 27 -pix_fmt yuv420p -movflags +faststart -an "$out"
    n=$((n+1))
  done
}
type_slow() { xdotool type --delay ${2:-60} "$1"; }
