#!/bin/bash
# BZFlag 2.4 (3-D tank battle): local bzfs server + client with 4 robot tanks (-solo 4), 1280x800 window;
# drive with arrow keys, fire (left click), respawn with "i" (pressed each step); 15 fps (software GL), 576x360 clips.
apt-get install -y --no-install-recommends bzflag-client bzflag-server xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 1280 800; nice bzfs -p 5191 -i 127.0.0.1 >"$TMPD/bzfs.log" 2>&1 & SPID=$!; sleep 2
game bzflag -solo 4 -mute -window 1280x800 tester@127.0.0.1:5191; sleep 14
record bz 48 15; xdotool mousemove 640 400; end=$((SECONDS+46))
while [ $SECONDS -lt $end ]; do xdotool key i; xdotool click 1; k=$(shuf -n1 -e Up Up Left Right Down); xdotool keydown $k; sleep 0.$((3+RANDOM%7)); xdotool keyup $k; done
wait $RPID; xstop; kill $SPID
cutmany bz bzflag battle 0 8 576:360 15 1 12 23 34
