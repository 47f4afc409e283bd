#!/bin/bash
# Geany IDE: scroll a packaged Python module (json/decoder.py), then type new code, 960x540 screen, 24 fps -> 640x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends geany >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
cp /usr/lib/python3.11/json/decoder.py $TMPD/decoder.py
start_x 960 540
geany -i -p $TMPD/decoder.py >/dev/null 2>&1 & APPPID=$!
sleep 6; maxwin geany; sleep 1; xdotool mousemove 480 300
rec 42 24 & RPID=$!
for i in $(seq 20); do xdotool click 5; sleep 0.45; done          # wheel-scroll through the module
xdotool key ctrl+End; sleep 0.5; xdotool key Return Return
for l in "def count_keys(doc):" "\"\"\"Count keys of every object in a JSON document.\"\"\"" \
         "total = 0" "for obj in JSONDecoder().decode(doc).values():" "if isinstance(obj, dict):" "total += len(obj)" ; do
  type_slow "$l" 90; xdotool key Return; done
xdotool key BackSpace BackSpace; type_slow "return total" 90; xdotool key Return
xdotool key ctrl+Home; sleep 0.5; for i in $(seq 12); do xdotool key Page_Down; sleep 0.5; done
wait $RPID; stop_x
cut_segs geany-ide scroll-type 24 8 1 10 20
