#!/bin/bash
# AbiWord word processor: typing and formatting a short letter, 1024x768 screen, 15 fps -> 480x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends abiword >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
start_x 1024 768
abiword >/dev/null 2>&1 & APPPID=$!
sleep 8; maxwin abiword; sleep 1
rec 40 15 & RPID=$!
xdotool key ctrl+e ctrl+b; type_slow "Community Garden Newsletter" 80; xdotool key ctrl+b Return ctrl+l Return
type_slow "Dear neighbours, the spring planting day is on Saturday morning. Please bring gloves, a watering can and, if you have them, seedlings to share. The compost bins behind the shed are full again, so we will also turn the heaps and sieve fresh soil for the new beds." 55
xdotool key Return Return ctrl+i; type_slow "Schedule" 80; xdotool key ctrl+i Return
for l in "9:00 welcome and coffee" "9:30 planting the raised beds" "11:00 compost workshop" "12:30 shared lunch"; do type_slow "$l" 45; xdotool key Return; done
xdotool key ctrl+a; sleep 0.8; xdotool key ctrl+b; sleep 1; xdotool key ctrl+Home; sleep 0.5
type_slow "Updated: " 120
wait $RPID; stop_x
cut_segs abiword-wordprocessor letter 15 6 0.5 7 13.5   # typing is over after ~20 s
