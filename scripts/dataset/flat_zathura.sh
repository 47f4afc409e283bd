#!/bin/bash
# Zathura PDF viewer on the packaged libtasn1 manual, normal then recoloured (dark) mode, 800x600, 30 fps -> 480x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends zathura zathura-pdf-poppler libtasn1-doc >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
start_x 800 600
zathura /usr/share/doc/libtasn1-doc/libtasn1.pdf >/dev/null 2>&1 & APPPID=$!
sleep 4; maxwin zathura; sleep 1
rec 38 30 & RPID=$!
for i in $(seq 20); do xdotool key j; sleep 0.25; done
for i in $(seq 5); do xdotool key J; sleep 0.8; done
xdotool key ctrl+r; sleep 0.5                                # dark recolour mode
for i in $(seq 25); do xdotool key j; sleep 0.25; done
xdotool key s; sleep 0.5; for i in $(seq 6); do xdotool key J; sleep 0.8; done   # fit width
wait $RPID; stop_x
cut_segs zathura-libtasn1-manual reading 30 8 1 10 19 29
