#!/bin/bash
# Frozen-Bubble: 640x480 screen, main menu then 1-player game (Left/Right aim, Up fires), 24 fps.
apt-get install -y --no-install-recommends frozen-bubble xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 640 480; game frozen-bubble; sleep 9
record fb 52 24; sleep 1; xdotool key Down; sleep 1; xdotool key Up; sleep 1; xdotool key Return; sleep 1.5; xdotool key Return; sleep 3
drive 44 Left Left Right Right Up
wait $RPID; xstop
cutmany fb frozen-bubble play 0 8 480:360 24 0 10 20 30 40
