#!/bin/bash
# AisleRiot Solitaire (Klondike): 720x720 screen (window maximised); deal from the stock, drag the waste card
# to random columns, double-click random tableau cards; 25 fps, 360x360 clips.
apt-get install -y --no-install-recommends aisleriot dbus xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 720 720; game dbus-run-session sol; sleep 7
record sol 42 25; end=$((SECONDS+41))
while [ $SECONDS -lt $end ]; do click 50 160; sleep 0.3
  xdotool mousemove 150 160 mousedown 1; for i in 1 2 3 4 5 6; do xdotool mousemove_relative -- $((RANDOM%80)) $((RANDOM%50)); sleep 0.05; done; xdotool mouseup 1; sleep 0.3
  xdotool mousemove $((40+RANDOM%640)) $((320+RANDOM%260)) click --repeat 2 1; sleep 0.4; done
wait $RPID; xstop
cutmany sol aisleriot klondike 0 8 360:360 25 1 11 21 31
