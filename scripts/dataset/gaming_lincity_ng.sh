#!/bin/bash
# LinCity-NG (city-building sim): 1024x768 window, New Game > scenario good_times > Start,
# then map scrolling with the arrow keys and random clicks; 25 fps, 480x360 clips.
apt-get install -y --no-install-recommends lincity-ng xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 1024 768; game lincity-ng -w; sleep 8
record lc 46 25; sleep 1; click 819 322; sleep 1.5; click 224 608; sleep 1; click 885 734; sleep 4; end=$((SECONDS+38))
while [ $SECONDS -lt $end ]; do k=$(shuf -n1 -e Left Right Up Down); xdotool keydown $k; sleep 0.$((4+RANDOM%5)); xdotool keyup $k
  click $((150+RANDOM%700)) $((100+RANDOM%550)); done
wait $RPID; xstop
cutmany lc lincity-ng city 1 8 480:360 25 12 23 34   # 0-12 s: mostly the still New Game menu, not used
