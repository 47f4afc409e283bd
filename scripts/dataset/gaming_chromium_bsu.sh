#!/bin/bash
# Chromium B.S.U. (vertical shooter): 800x600 screen, menu then play with mouse moves + fire, 30 fps.
apt-get install -y --no-install-recommends chromium-bsu xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 800 600; game chromium-bsu; sleep 6
record bsu 50 30; sleep 3; xdotool key Down; sleep 0.5; xdotool key Up; sleep 0.5; xdotool key Return
end=$((SECONDS+44)); xdotool mousedown 1
while [ $SECONDS -lt $end ]; do xdotool mousemove --sync $((100+RANDOM%600)) $((250+RANDOM%300)); sleep 0.$((3+RANDOM%6)); done
xdotool mouseup 1; wait $RPID; xstop
cutmany bsu chromium-bsu play 0 8 480:360 30 1 10 20 30 40
