#!/bin/bash
# LBreakout2: 640x480 screen, menus clicked through, paddle driven by mouse sweeps, 25 fps.
apt-get install -y --no-install-recommends lbreakout2 xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 640 480; game lbreakout2; sleep 5
record lb 55 25; sleep 2; click 180 270; sleep 1.5; click 183 280; sleep 2
end=$((SECONDS+48))
while [ $SECONDS -lt $end ]; do xdotool mousemove $((40+RANDOM%560)) 400 click 1; sleep 0.$((2+RANDOM%7)); done
wait $RPID; xstop
cutmany lb lbreakout2 play 0 8 480:360 25 0 10 20 30   # (a 5th segment at 40 s was the game-over screen, dropped)
