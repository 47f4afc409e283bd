#!/bin/bash
# galculator (GTK calculator) driven from the keyboard, basic/scientific/paper modes, portrait 480x640, 24 fps -> 270x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends galculator >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
start_x 480 640
galculator >/dev/null 2>&1 & APPPID=$!
sleep 5; maxwin galculator; sleep 1
rec 30 24 & RPID=$!
for e in "1234*56=" "Escape" "3.14159*2*2=" "Escape" "987-123=" ; do
  if [ "$e" = Escape ]; then xdotool key Escape; sleep 0.7; else type_slow "$e" 250; sleep 0.8; fi; done
xdotool key ctrl+s; sleep 1.5; type_slow "255+4096=" 250; sleep 1; xdotool key Escape
type_slow "7*7*7*7=" 250; sleep 1; xdotool key Escape; type_slow "12+30=" 250; sleep 1; type_slow "100/8=" 250; sleep 1
xdotool key ctrl+b; sleep 1; type_slow "42*42=" 250
wait $RPID; stop_x
cut_segs galculator-calculator keypad 24 7 1 9 17
