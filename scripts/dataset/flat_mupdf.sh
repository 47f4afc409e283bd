#!/bin/bash
# MuPDF paging through the packaged Asymptote manual PDF, portrait 540x960 screen, 25 fps -> 202x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mupdf asymptote-doc >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
start_x 540 960
mupdf /usr/share/doc/asymptote/asymptote.pdf >/dev/null 2>&1 & APPPID=$!
sleep 4; maxwin mupdf; sleep 1; xdotool key W; sleep 1   # W = fit width
rec 38 25 & RPID=$!
for i in $(seq 14); do xdotool key j; sleep 0.4; done       # scroll down
for i in $(seq 6); do xdotool key space; sleep 1; done       # page forward
xdotool type 40g; sleep 1.5                                   # jump to page 40
for i in $(seq 10); do xdotool key j; sleep 0.4; done
xdotool key plus; sleep 1; for i in $(seq 8); do xdotool key Next; sleep 0.9; done
wait $RPID; stop_x
cut_segs mupdf-asymptote-manual paging 25 8 1 10 19   # the last part of the take was static
