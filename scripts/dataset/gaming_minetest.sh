#!/bin/bash
# Minetest 5.6 (Minetest Game, singleplayer, fixed seed): 960x540 window, walk forward (w) with mouse look,
# jumps and digging; 24 fps.
apt-get install -y --no-install-recommends minetest xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
rm -rf "$TMPD/mtworld"; mkdir -p "$TMPD/mtworld"; printf 'gameid = minetest_game\nbackend = sqlite3\n' > "$TMPD/mtworld/world.mt"
printf 'screen_w = 960\nscreen_h = 540\nenable_sound = false\nfixed_map_seed = 4242\nviewing_range = 60\nenable_shaders = false\n' > "$TMPD/mt.conf"
xstart 960 540; game minetest --config "$TMPD/mt.conf" --go --world "$TMPD/mtworld" --name player; sleep 22
record mt 56 24; xdotool mousemove_relative -- 0 20; xdotool keydown w; end=$((SECONDS+55))
while [ $SECONDS -lt $end ]; do xdotool mousemove_relative -- $((RANDOM%120-60)) $((RANDOM%9-3))
  case $((RANDOM%6)) in 0) xdotool key space;; 1) xdotool mousedown 1; sleep 0.8; xdotool mouseup 1;; esac; sleep 0.3; done
xdotool keyup w; wait $RPID; xstop
cutmany mt minetest explore 0 8 640:360 24 1 12 23 34 45
