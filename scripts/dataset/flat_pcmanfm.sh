#!/bin/bash
# PCManFM file manager browsing /usr/share, switching views, 960x720 screen, 30 fps -> 480x360.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pcmanfm gnome-themes-extra adwaita-icon-theme >/dev/null  # what this recording needs
source "$(dirname "$0")/flat_common.sh"
export GTK_THEME=Adwaita:dark
start_x 960 720
pcmanfm --no-desktop /usr/share >/dev/null 2>&1 & APPPID=$!
sleep 6; maxwin pcmanfm; sleep 1; xdotool mousemove 600 400
rec 32 30 & RPID=$!
for i in $(seq 10); do xdotool click 5; sleep 0.4; done
xdotool key ctrl+l; type_slow "/usr/share/icons/Adwaita" 60; xdotool key Return; sleep 2
for i in $(seq 6); do xdotool click 5; sleep 0.4; done
xdotool key ctrl+4; sleep 2; for i in $(seq 8); do xdotool key Down; sleep 0.3; done
xdotool key ctrl+l; type_slow "/usr/share/doc" 60; xdotool key Return; sleep 2
xdotool key ctrl+2; sleep 1.5; for i in $(seq 10); do xdotool click 5; sleep 0.4; done
xdotool key ctrl+1; sleep 1; for i in $(seq 6); do xdotool click 5; sleep 0.4; done
wait $RPID; stop_x
cut_segs pcmanfm-filemanager browse 30 7 1 9 17 25
