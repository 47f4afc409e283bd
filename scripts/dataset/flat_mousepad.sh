#!/bin/bash
# Mousepad text editor with a dark GTK theme: scroll a copy of the GPL-3 text, then type notes, 720x720, 15 fps -> 360x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mousepad gnome-themes-extra >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
export GTK_THEME=Adwaita:dark
cp /usr/share/common-licenses/GPL-3 $TMPD/license.txt
start_x 720 720
mousepad $TMPD/license.txt >/dev/null 2>&1 & APPPID=$!
sleep 5; maxwin mousepad; sleep 1; xdotool key ctrl+plus ctrl+plus ctrl+plus; xdotool mousemove 360 400
rec 40 15 & RPID=$!
for i in $(seq 24); do xdotool click 5; sleep 0.4; done
xdotool key ctrl+Home Return Up
type_slow "Notes for the release, Thursday: check the licence headers in every source file; Alice reviews the translations and Bob updates the packaging." 70
xdotool key Return; type_slow "TODO: bump version, tag, upload." 80
wait $RPID; stop_x
cut_segs mousepad-editor-dark scroll-type 15 8 1 10 19
