#!/bin/bash
# Shared helpers for recording Debian games on a private Xvfb display (more4 Gaming class).
# Source this file; set DISP (default :91) and TMPD (default /tmp/more4-gaming).
export PATH=/usr/games:$PATH
DISP=${DISP:-:91}; TMPD=${TMPD:-/tmp/more4-gaming}
OUTD=${OUTD:-/work/main/datasets/more4/clips/Gaming}
export DISPLAY=$DISP LIBGL_ALWAYS_SOFTWARE=1 SDL_AUDIODRIVER=dummy ALSOFT_DRIVERS=null
mkdir -p "$TMPD" "$OUTD"

# xstart W H : start Xvfb (+ matchbox wm, which maximises windows) at WxH
xstart() { W=$1; H=$2; Xvfb $DISP -screen 0 ${W}x${H}x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!; sleep 2
  if [ "${NOWM:-0}" != 1 ]; then matchbox-window-manager -use_titlebar no >/dev/null 2>&1 & WMPID=$!; sleep 1; fi; }
# xstop : kill the game (GPID), wm and Xvfb started here
xstop() { [ -n "$GPID" ] && kill $GPID 2>/dev/null; sleep 1; [ -n "$GPID" ] && kill -9 $GPID 2>/dev/null
  [ -n "$WMPID" ] && kill $WMPID 2>/dev/null; kill $XPID 2>/dev/null; sleep 1; GPID=; WMPID=; }
# game CMD... : start the game in the background (GPID)
game() { nice -n 10 "$@" >"$TMPD/game.log" 2>&1 & GPID=$!; }
# record NAME SECONDS FPS : grab the whole screen to $TMPD/NAME.mkv (near-lossless) in the background (RPID)
record() { nice -n 5 ffmpeg -y -loglevel error -f x11grab -video_size ${W}x${H} -framerate $3 -i $DISP -t $2 \
  -c:v libx264 -preset ultrafast -crf 12 "$TMPD/$1.mkv" & RPID=$!; }
# drive SECONDS KEY... : hold random keys from the list for 0.1-0.8 s each, for SECONDS
drive() { local end=$((SECONDS+$1)); shift; local k=("$@")
  while [ $SECONDS -lt $end ]; do local key=${k[$RANDOM % ${#k[@]}]}
    xdotool keydown $key; sleep 0.$((1 + RANDOM % 8)); xdotool keyup $key; done; }
# click X Y [BUTTON]
click() { xdotool mousemove $1 $2; sleep 0.2; xdotool click ${3:-1}; sleep 0.3; }
# cut RAW SLUG NAME SEG START DUR SCALE FPS : write one dataset clip
cut() { ffmpeg -y -loglevel error -ss $5 -i "$TMPD/$1.mkv" -t $6 -vf "scale=$7,fps=$8,format=yuv420p" \
  -c:v libx264 -profile:v high -preset veryfast -crf 27 -pix_fmt yuv420p -movflags +faststart -an \
  "$OUTD/${2}__${3}__seg$(printf %02d $4).mp4"; }
# cutmany RAW SLUG NAME FIRSTSEG DUR SCALE FPS START... : several non-overlapping clips
cutmany() { local raw=$1 slug=$2 name=$3 n=$4 dur=$5 sc=$6 fps=$7; shift 7
  for s in "$@"; do cut $raw $slug $name $n $s $dur $sc $fps; n=$((n+1)); done; }
