#!/bin/bash
# Dillo (light web browser) reading the packaged Debian Reference HTML, 1024x768 screen, 25 fps -> 480x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dillo debian-reference-en >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
D=/usr/share/doc/debian-reference-common/docs
start_x 1024 768
dillo -g 1024x768 "file://$D/ch01.en.html" >/dev/null 2>&1 & APPPID=$!
sleep 5; maxwin dillo; sleep 1; xdotool mousemove 500 400
rec 38 25 & RPID=$!
for i in $(seq 16); do xdotool click 5; sleep 0.5; done
xdotool key ctrl+l; type_slow "file://$D/ch03.en.html" 30; xdotool key Return; sleep 2
for i in $(seq 10); do xdotool key Next; sleep 0.7; done
xdotool key ctrl+l; type_slow "file://$D/ch10.en.html" 30; xdotool key Return; sleep 2
for i in $(seq 30); do xdotool click 5; sleep 0.35; done
wait $RPID; stop_x
cut_segs dillo-debian-reference read 25 8 1 10 19 29
