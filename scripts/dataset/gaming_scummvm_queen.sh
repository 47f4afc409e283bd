#!/bin/bash
# Flight of the Amazon Queen (Debian freeware package) in ScummVM at native 320x200 (1x, fullscreen):
# the in-engine intro (warehouse scene with animated characters), no input; 25 fps, kept at 320x200.
# Only the stretches with motion are cut (the intro has long still captions/dialogue pauses).
apt-get install -y --no-install-recommends scummvm flight-of-the-amazon-queen xvfb xdotool ffmpeg matchbox-window-manager >/dev/null
source "$(dirname "$0")/gaming_lib.sh"
xstart 320 200; game scummvm --gfx-mode=1x --no-aspect-ratio --fullscreen -p /usr/share/scummvm/flight-of-the-amazon-queen queen; sleep 2
record q 75 25; wait $RPID; xstop
cutmany q flight-of-the-amazon-queen intro 0 6.5 320:200 25 30.3 36.8 66.9
