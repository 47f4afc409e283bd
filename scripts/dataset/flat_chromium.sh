#!/bin/bash
# Chromium browsing the packaged Python 3 HTML docs (python3-doc), 1280x720 screen, 30 fps -> 640x360 clips.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium python3-doc >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
D=/usr/share/doc/python3-doc/html
start_x 1280 720
chromium --no-sandbox --disable-background-networking --disable-component-update --no-first-run \
  --disable-gpu --user-data-dir=$TMPD/chr --start-maximized --window-size=1280,720 --window-position=0,0 \
  "file://$D/library/functions.html" >/dev/null 2>&1 & APPPID=$!
sleep 12; maxwin chromium; sleep 2
rec 44 30 & RPID=$!
# scroll the built-in functions page with the wheel, then open other pages via the address bar
for i in $(seq 18); do xdotool click 5; sleep 0.5; done
xdotool key ctrl+l; sleep 0.3; type_slow "file://$D/tutorial/controlflow.html" 40; xdotool key Return; sleep 2
for i in $(seq 12); do xdotool key Page_Down; sleep 0.6; done
xdotool key ctrl+f; sleep 0.5; type_slow "lambda" 150; xdotool key Return; sleep 1.5; xdotool key Escape
xdotool key ctrl+l; sleep 0.3; type_slow "file://$D/library/stdtypes.html" 40; xdotool key Return; sleep 2
for i in $(seq 30); do xdotool click 5; sleep 0.3; done
wait $RPID
stop_x
cut_segs chromium-python3-doc browse 30 8 1 10 20 32
