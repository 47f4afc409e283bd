#!/usr/bin/env bash
# Rebuild datasets/more4/fetched/ (not committed) from the GitHub repositories brought with the
# search tool's `fetch` (snapshots under MIRROR, default /work/.mirror, as owner+name/repo).
# Every repository must have been fetched first (the recipes read pinned commits out of them):
#   facebookresearch/sam2 facebookresearch/co-tracker gaomingqi/Track-Anything talmolab/sleap
#   sczhou/ProPainter OpenGVLab/Ask-Anything DAMO-NLP-SG/Video-LLaMA PKU-YuanGroup/Video-LLaVA
#   magic-research/PLLaVA LLaVA-VL/LLaVA-NeXT dmlc/decord k4yt3x/video2x bilibili/Index-anisora
#   Mangomm/FFmpegC robmikh/showorder kamalnayan10/video_to_ascii_colored airbnb/lottie-web
#   ageitgey/face_recognition DeepLabCut/DeepLabCut hkchengrex/Cutie
#   ShuhongChen/eisai-anime-interpolator Samsung/rlottie dave-newsom/hack-verify-media
#   facebookresearch/AnimatedDrawings udacity/CarND-LaneLines-P1 DeepMotionEditing/deep-motion-editing
#   KwaiVGI/LivePortrait zatrit/bad-qt-graph AbelNTU/Video-Faker (its snapshot's git dir is repo/.git)
#   uvipen/Super-mario-bros-PPO-pytorch uvipen/Contra-PPO-pytorch uvipen/Flappy-bird-deep-Q-learning-pytorch
#   kitao/pyxel openai/procgen
#   charmbracelet/vhs maaslalani/slides Textualize/textual voila-dashboards/voila jupyterlab/jupyterlab
# Then: bash scripts/dataset/rebuild_fetched.sh && git diff --stat datasets/  (the rebuilt clips must
# give back the same rows; build_more4.py rewrites the manifests from them)
# Needs ffmpeg (apt-get) and, for the Lottie renders, a throwaway venv with rlottie-python (made here).
set -euo pipefail
cd "$(dirname "$0")"
MIRROR=${MIRROR:-/work/.mirror}
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
command -v ffmpeg >/dev/null || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q ffmpeg; }
g() { local d="$MIRROR/${1/\//+}/repo"; [ -d "$d" ] || { echo "not fetched: $1 ($d)" >&2; exit 1; }
      if [ -d "$d/.git" ]; then echo "$d/.git"; else echo "$d"; fi; }   # some snapshots come with a work tree

python3 natural_fetched.py \
  "$(g facebookresearch/sam2)" "$(g facebookresearch/co-tracker)" "$(g gaomingqi/Track-Anything)" \
  "$(g talmolab/sleap)" "$(g sczhou/ProPainter)" "$(g OpenGVLab/Ask-Anything)" \
  "$(g DAMO-NLP-SG/Video-LLaMA)" "$(g PKU-YuanGroup/Video-LLaVA)" "$(g magic-research/PLLaVA)" \
  "$(g LLaVA-VL/LLaVA-NeXT)" "$(g dmlc/decord)" \
  "$(g ageitgey/face_recognition)" "$(g DeepLabCut/DeepLabCut)" "$(g hkchengrex/Cutie)" \
  "$(g udacity/CarND-LaneLines-P1)" "$(g DeepMotionEditing/deep-motion-editing)" "$(g KwaiVGI/LivePortrait)" \
  "AbelNTU/Video-Faker=$(g AbelNTU/Video-Faker)"
python3 animation_fetched.py video2x "$(g k4yt3x/video2x)"
python3 animation_fetched.py anisora "$(g bilibili/Index-anisora)"
python3 animation_fetched.py sintel "$(g Mangomm/FFmpegC)"
python3 animation_fetched.py popeye "$(g robmikh/showorder)"
python3 animation_fetched.py jjk "$(g kamalnayan10/video_to_ascii_colored)"
python3 animation_fetched.py eisai "$(g ShuhongChen/eisai-anime-interpolator)"
python3 animation_fetched.py rlottie "$(g Samsung/rlottie)"
python3 animation_fetched.py steamboat "$(g dave-newsom/hack-verify-media)"
python3 animation_fetched.py copying "$(g dave-newsom/hack-verify-media)"
python3 animation_fetched.py animdraw "$(g facebookresearch/AnimatedDrawings)"
python3 animation_fetched.py badapple "$(g zatrit/bad-qt-graph)"
python3 animation_fetched.py frozen "$(g AbelNTU/Video-Faker)"
python3 animation_fetched.py lifein30s "$(g AbelNTU/Video-Faker)"
python3 gaming_fetched.py mario "$(g uvipen/Super-mario-bros-PPO-pytorch)"
python3 gaming_fetched.py contra "$(g uvipen/Contra-PPO-pytorch)"
python3 gaming_fetched.py flappy "$(g uvipen/Flappy-bird-deep-Q-learning-pytorch)"
python3 gaming_fetched.py pyxel "$(g kitao/pyxel)"
python3 gaming_fetched.py procgen "$(g openai/procgen)"
python3 gaming_fetched.py lolstream "$(g AbelNTU/Video-Faker)"
python3 flat_fetched.py vhs "$(g charmbracelet/vhs)"
python3 flat_fetched.py slides "$(g maaslalani/slides)"
python3 flat_fetched.py textual "$(g Textualize/textual)"
python3 flat_fetched.py voila "$(g voila-dashboards/voila)"
python3 flat_fetched.py jupyterlab "$(g jupyterlab/jupyterlab)"
LV=${LOTTIE_VENV:-/tmp/rlottie-venv}
[ -x "$LV/bin/python" ] || { python3 -m venv "$LV" && "$LV/bin/pip" install -q rlottie-python pillow; }
"$LV/bin/python" animation_lottie.py "$(g airbnb/lottie-web)"
