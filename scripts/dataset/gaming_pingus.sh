#!/bin/bash
# Pingus: 1024x576 window, level "Crawlspace" (desert set) started from the command line, Play clicked,
# then random clicks on the playfield / skill buttons; 24 fps, 640x360 clips.
apt-get install -y --no-install-recommends pingus xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 1024 576; game pingus -g 1024x576 --disable-sound /usr/share/games/pingus/data/levels/desert/desert-crawl-timpany.pingus; sleep 8
record pg 46 24; sleep 1; click 789 469; end=$((SECONDS+43))
while [ $SECONDS -lt $end ]; do click $((40+RANDOM%940)) $((60+RANDOM%500)); sleep 0.$((3+RANDOM%6)); done
wait $RPID; xstop
cutmany pg pingus crawlspace 0 8 640:360 24 3 14 25 36
