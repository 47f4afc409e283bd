#!/usr/bin/env python3
"""Animation clips rendered from the Lottie demo animations of the GitHub repository airbnb/lottie-web
(brought with the search tool's `fetch`; clips go to datasets/more4/fetched/Animation/, not committed).
Renderer: PyPI rlottie-python (install it in a throwaway venv: python3 -m venv /tmp/v && /tmp/v/bin/pip
install rlottie-python pillow; run this script with that venv's python).
Usage: animation_lottie.py GITDIR"""
import os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from animation_lib import clip_path, encode, record, target_size
from PIL import Image
from rlottie_python import LottieAnimation

SOURCE = "GitHub airbnb/lottie-web (demo/ Lottie character animations, rendered with rlottie)"
LICENSE = "MIT (repository)"
COMMIT = "bede03d25d232826e0c9dca1733d542d8a7754fb"
# (path in repo, name, background colour, [(first frame, frame count), ...]) — segments never overlap
ITEMS = [("demo/adrock/data.json", "adrock", "white", [(0, 130), (130, 130), (260, 130)]),
         ("demo/navidad/data.json", "navidad", "white", [(0, 126)])]


def main(gitdir):
    tmp = tempfile.mkdtemp(prefix="anim-lottie-")
    seg = 0
    for path, name, bg, cuts in ITEMS:
        js = os.path.join(tmp, name + ".json")
        with open(js, "wb") as f:
            subprocess.run(["git", "--git-dir", gitdir, "show", f"{COMMIT}:{path}"], stdout=f, check=True)
        anim = LottieAnimation.from_file(js)
        w, h = anim.lottie_animation_get_size()
        fps = anim.lottie_animation_get_framerate()
        tw, th = target_size(w, h)
        for first, count in cuts:
            d = os.path.join(tmp, f"{name}{seg}"); os.makedirs(d)
            for i in range(count):   # render each frame at the output size over an opaque background
                im = anim.render_pillow_frame(frame_num=first + i, width=tw, height=th)
                base = Image.new("RGBA", im.size, bg); base.alpha_composite(im)
                base.convert("RGB").save(os.path.join(d, f"{i:04d}.png"))
            seq = os.path.join(d, "seq.mkv")
            subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-framerate", f"{fps:g}", "-i",
                            os.path.join(d, "%04d.png"), "-c:v", "ffv1", seq], check=True)
            out = clip_path("fetched", "lottie-web-demo", name, seg)
            encode(seq, out)
            record(out, SOURCE, LICENSE, "fetched", "2-D vector character animation (Lottie), opaque background added")
            seg += 1


if __name__ == "__main__":
    main(sys.argv[1])
