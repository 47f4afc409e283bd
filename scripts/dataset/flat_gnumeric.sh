#!/bin/bash
# Gnumeric spreadsheet with dark GTK theme: typing a table of numbers and formulas, 1280x800 screen, 25 fps -> 576x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnumeric gnome-themes-extra >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
export GTK_THEME=Adwaita:dark
start_x 1280 800
gnumeric >/dev/null 2>&1 & APPPID=$!
sleep 8; maxwin gnumeric; sleep 1; xdotool mousemove 600 450
rec 44 25 & RPID=$!
xdotool type --delay 130 "Month	Sales	Cost	Profit"; xdotool key Return Home
r=0; for m in Jan:1520:980 Feb:1610:1010 Mar:1755:1100 Apr:1490:1205 May:1830:1150 Jun:1975:1230 Jul:2050:1310 Aug:1890:1275; do
  IFS=: read a b c <<<"$m"; r=$((r+1)); xdotool type --delay 130 "$a	$b	$c	=B$((r+1))-C$((r+1))"; xdotool key Return Home; done
xdotool type --delay 130 "Total	=SUM(B2:B9)	=SUM(C2:C9)	=SUM(D2:D9)"; xdotool key Return
for i in $(seq 10); do xdotool click 5; sleep 0.5; done; for i in $(seq 10); do xdotool click 4; sleep 0.5; done
wait $RPID; stop_x
cut_segs gnumeric-spreadsheet-dark data-entry 25 8 1 10 19   # the rest of the take was static
