#!/bin/bash
# Dia diagram editor showing the packaged UML example diagram (menus, zooming), 1280x720, 24 fps -> 640x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dia >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
E=/usr/share/doc/dia-common/examples
start_x 1280 720
dia $E/UML-demo.dia >/dev/null 2>&1 & APPPID=$!
sleep 8; maxwin dia; sleep 1; xdotool key ctrl+e; sleep 1; xdotool mousemove 700 400   # ctrl+e = best fit
rec 30 24 & RPID=$!
xdotool mousemove 107 33 click 1; sleep 1.5; xdotool mousemove 140 100; sleep 1; xdotool key Escape; sleep 0.5   # View menu
xdotool mousemove 160 33 click 1; sleep 1.5; xdotool key Escape; xdotool mousemove 700 400
for m in 23 63 225 287 347 400; do                                                  # File..Tools menus, zooming in between
  xdotool mousemove $m 33 click 1; sleep 1.2; xdotool key Escape; xdotool mousemove 700 400
  xdotool key ctrl+plus; sleep 0.8; xdotool key ctrl+plus; sleep 0.8; xdotool key ctrl+minus; sleep 0.6; xdotool key ctrl+e; sleep 0.6
done
wait $RPID; stop_x
cut_segs dia-diagram-editor uml-demo 24 7 1 9 17
