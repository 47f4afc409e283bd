#!/bin/bash
# Blobby Volley 2: 800x600 screen, main menu then START (local match), random movement/jump keys; 30 fps.
apt-get install -y --no-install-recommends blobby xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 800 600; game blobby; sleep 6
record bv 46 30; sleep 2; click 483 392; sleep 1
drive 42 a d w a d Left Right Up Left Right
wait $RPID; xstop
cutmany bv blobby match 0 8 480:360 30 0 10 20 30
