#!/usr/bin/env python3
"""Animation clips from videos inside GitHub repositories brought with the search tool's `fetch`.
Usage: animation_fetched.py KEY GITDIR   (keys: video2x anisora sintel popeye jjk eisai rlottie steamboat copying animdraw badapple frozen lifein30s)
Repositories: k4yt3x/video2x, bilibili/Index-anisora, Mangomm/FFmpegC, robmikh/showorder,
kamalnayan10/video_to_ascii_colored, ShuhongChen/eisai-anime-interpolator, Samsung/rlottie,
dave-newsom/hack-verify-media (two works, two keys: steamboat, copying),
facebookresearch/AnimatedDrawings, zatrit/bad-qt-graph,
AbelNTU/Video-Faker (two works, two keys: frozen, lifein30s; its snapshot's git dir is repo/.git).   (GITDIR = the fetched snapshot's git directory, no work tree)
Files are read with `git --git-dir=GITDIR show COMMIT:path`; clips go to datasets/more4/fetched/Animation/
(not committed). KEY selects one entry of SOURCES below."""
import os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from animation_lib import clip_path, encode, record

# key: (slug, source string, licence, commit, [(path-in-repo, name, [(start, dur), ...], extra_vf, short side), ...], notes)
# A path written "COMMIT:path" is read at that commit instead of the source's (files deleted later in the history).
SOURCES = {
    "video2x": ("video2x-anime", "GitHub k4yt3x/video2x (sample_output.mp4, anime episode excerpt upscaled by video2x)",
                "not stated (repository AGPL-3.0)", "b49da6aa02136bf9a343b2a2500b5fd157dbb030",
                [("sample_output.mp4", "sample-output", [(0.2, 6.2), (6.5, 6.2), (12.8, 6.1)], None, 360)],
                "2-D TV anime with burnt-in Chinese subtitles"),
    "anisora": ("anisora", "GitHub bilibili/Index-anisora (demo anime/cartoon clips in assets/ and demo_data/)",
                "not stated (repository Apache-2.0)", "171fe63409792bf7f0bd9d825f83c20fe8ec5477",
                [("anisoraV1_train_gpu/sat/demo_data/549321620_94606187-Scene-055.mp4", "scene055", [(0, 5)], None, 360),
                 ("assets/000000(225).gif", "truck-kids", [(0, None)], None, 360),
                 ("assets/000000(232).gif", "dark-coat", [(0, None)], None, 360),
                 ("assets/cartoon_films_ren_wu_shuo_hua_34_firstmidlast.gif", "cartoon-film", [(0, None)], None, 360),
                 ("anisora_anymask/data/_spa_data/case_11_seed666666.mp4", "forest-creature", [(0, None)], None, 360),
                 ("assets/motion_comics_zhi_dong_xi_2_last.gif", "motion-comic-cat", [(0, None)], None, 360)],
                "anime / cartoon shots (real excerpts and model-generated demo shots); GIFs converted to CFR"),
    "sintel": ("sintel", "GitHub Mangomm/FFmpegC (sintel.mp4, Sintel trailer, Blender Foundation)",
               "CC BY 3.0 (Blender Foundation)", "09be1b29ac83aa395b0178bda0ee135ef8a2b6e1",
               [("sintel.mp4", "trailer", [(1.0, 7.5), (9.0, 7.5), (17.5, 7.5)], "crop=848:362:0:58", 288)],
               "3-D CGI open movie; letterbox cropped"),
    "popeye": ("popeye-sinbad", "GitHub robmikh/showorder (data/popeye, excerpts of Popeye the Sailor Meets Sinbad the Sailor, 1936)",
               "public domain (Library of Congress free-to-use films)", "c0a66d0d4f3c1f92e7483681f93f1f3b3eae1687",
               [("data/popeye/mkv/pgs/Title T00-1.mkv", "t00", [(8, 8), (40, 8)], None, 360),
                ("data/popeye/mkv/pgs/Title T01-2.mkv", "t01", [(20, 8)], None, 360),
                ("data/popeye/mkv/pgs/Title T02-3.mkv", "t02", [(15, 8)], None, 360),
                ("data/popeye/mkv/pgs/Title T03-4.mkv", "t03", [(30, 8)], None, 360)],
               "1930s hand-drawn Technicolor cartoon (Fleischer), 4:3"),
    "jjk": ("jjk-anime-edit", "GitHub kamalnayan10/video_to_ascii_colored (anime.mp4, Jujutsu Kaisen anime edit)",
            "not stated (repository MIT)", "1c4c36f99b0a510830f2f5a90ba186604c28a720",
            [("anime.mp4", "edit", [(0.0, 4.0), (7.0, 3.3), (10.3, 3.3), (13.6, 4.7)], None, 360)],
            "TV anime fight-scene edit (fan AMV); black fades between shots left out"),
    "eisai": ("eisai-anime-cuts", "GitHub ShuhongChen/eisai-anime-interpolator (supplementary/full_cuts: TV anime cuts from Konobi and Sakura Quest, input column)",
              "not stated (repository AGPL-3.0)", "f0e216cce18b99d10a0e60d465565afd302f1de7",
              [("supplementary/full_cuts/konobi_s01e007__000282.mp4", "konobi-e07", [(0.2, 7.8), (8.1, 7.8)], "crop=480:372:0:32", 360),
               ("supplementary/full_cuts/konobi_s01e012__000339.mp4", "konobi-e12", [(0.2, 7.9), (8.3, 8.0)], "crop=640:496:0:44", 360),
               ("supplementary/full_cuts/sakura_quest_s01e003__000082.mp4", "sakura-quest-e03", [(0.2, 7.0), (7.4, 7.2)], "crop=640:496:0:44", 360)],
              "2-D TV anime shots (12 fps); the files are side-by-side comparisons (input | AnimeInterp | EISAI): only the left third, the original input frames, is kept, its 'Input' label cropped off"),
    "rlottie": ("rlottie-watchface", "GitHub Samsung/rlottie (.Gifs/1.gif, animated watch-face illustration rendered with rlottie)",
                "MIT (repository, licenses/COPYING.MIT)", "34465a9e93c38af9a5287ad28400bb932c1a2a92",
                [(".Gifs/1.gif", "watchface", [(0.0, 4.0), (4.05, 4.05)], None, 360)],
                "2-D vector (Lottie) illustration: landscape with sun, moon, rain and snow cycling, digital clock text; GIF converted to CFR"),
    # dave-newsom/hack-verify-media keeps short public-domain / CC cartoon extracts as hashing test fixtures
    # (fixtures/LICENSES.md gives each one's source and licence); two different works, so two sources.
    # Its bbb_slapstick.mp4 (Big Buck Bunny, already in content4) is not used.
    "steamboat": ("steamboat-willie", "GitHub dave-newsom/hack-verify-media (fixtures/media/steamboat_willie.mp4, excerpt of Steamboat Willie, Disney 1928)",
                  "public domain (Public Domain Mark 1.0, per the repository's fixtures/LICENSES.md)", "3e178934f924d6af253f8f8256dcc47bc736cdf6",
                  [("fixtures/media/steamboat_willie.mp4", "steamboat", [(0.0, 7.0)], "crop=576:480:34:0", 360)],
                  "1928 hand-drawn black-and-white cartoon: the steamboat on the river (the whole 7 s extract); pillarbox bars cropped"),
    "copying": ("copying-not-theft", "GitHub dave-newsom/hack-verify-media (fixtures/media/copying_is_not_theft.mp4, Nina Paley's Copying Is Not Theft, 2010)",
                "CC BY-SA 3.0 (Nina Paley / QuestionCopyright.org, per the repository's fixtures/LICENSES.md)", "3e178934f924d6af253f8f8256dcc47bc736cdf6",
                [("fixtures/media/copying_is_not_theft.mp4", "minute-meme", [(5.0, 8.0), (13.0, 8.0), (21.0, 8.0)], None, 360)],
                "flat 2-D vector cartoon (rubber-hose style characters, grey backgrounds); the title card (0-4.5 s) left out; the file is cut at 1 MiB, so only its first ~32 s decode"),
    "animdraw": ("animated-drawings", "GitHub facebookresearch/AnimatedDrawings (children's drawings animated by Animated Drawings: web demo videos and motion-example GIFs of its UI)",
                 "MIT (repository)", "5f094b6560e30666f0c5248b4b9e1fe7853152da",
                 [("1c7d161de1e4ec69cbe5c2f89c88fbb4dfdc5b55:ui/www/public/demo1.mp4", "girl", [(0.0, 6.8)], "crop=890:788:606:4", 360),
                  ("1c7d161de1e4ec69cbe5c2f89c88fbb4dfdc5b55:ui/www/public/demo2.mp4", "clipboard", [(0.0, 6.3)], "crop=890:788:606:4", 360),
                  ("ui/www/src/assets/motion_examples/run_walk_jump_walk.gif", "cat-run-jump", [(0.0, 9.2)], None, 360),
                  ("ui/www/src/assets/motion_examples/shuffle_dance.gif", "cat-shuffle", [(0.0, 6.2)], None, 360),
                  ("ui/www/src/assets/motion_examples/jump_rope.gif", "cat-jump-rope", [(0.0, 8.5)], None, 360)],
                 "hand-drawn (crayon / pencil) characters rigged and animated on a white background; the demo videos are side by side (photo of the drawing | animation): only the animation half is kept; GIFs 256x256 at 18 fps, not upscaled"),
    "badapple": ("bad-apple", "GitHub zatrit/bad-qt-graph (bad_apple.mp4, the Touhou fan animation Bad Apple!! PV, black-and-white shadow art)",
                 "not stated (repository MIT; the video is a fan work, Anira / Alstroemeria Records)", "4bca32839ef64e2b40f30213a357aa24dc3f8462",
                 [("bad_apple.mp4", "pv", [(32, 8), (78, 8), (118, 8), (161, 8), (199, 8)], None, 360)],
                 "2-D hand-drawn silhouette animation of anime characters (pure black and white, 15 fps, 4:3); near-blank transitions avoided"),
    # AbelNTU/Video-Faker keeps short videos (TV spots, a cartoon, a game stream) as cover videos for its
    # video-disguise demo; no licence in the repository. Two animated works from it, two sources.
    "frozen": ("frozen-tvspot", "GitHub AbelNTU/Video-Faker (shortvideo/frozen.mp4, Taiwanese TV spot for Disney's Frozen, 2013)",
               "not stated (no licence in the repository; Disney film excerpts)", "a09ba9bfcaaeb73d15b4a87c0c93bb4975db4930",
               [("shortvideo/frozen.mp4", "tvspot", [(9.0, 3.9), (17.2, 8.6)], "crop=640:238:0:76", 360)],
               "3-D CGI feature-film shots (snow, characters, sledge) with burnt-in Chinese subtitles; the letterbox and the promo date overlay (top) cropped off, the logo and text cards left out"),
    "lifein30s": ("life-in-30s", "GitHub AbelNTU/Video-Faker (shortvideo/30slife.mp4, hand-drawn short of a life in 30 seconds, signed Aoki Jun 2003)",
                  "not stated (no licence in the repository)", "a09ba9bfcaaeb73d15b4a87c0c93bb4975db4930",
                  [("shortvideo/30slife.mp4", "life", [(0.0, 8.5), (8.5, 8.5), (17.0, 8.5)], None, 360)],
                  "2-D hand-drawn coloured cartoon (baby, schoolboy, commuter, old man) on white, 320x240; the signature card at the end left out"),
}


def main(key, gitdir):
    slug, source, lic, commit, items, notes = SOURCES[key]
    tmp = tempfile.mkdtemp(prefix="anim-")
    seg = 0
    for path, name, cuts, vf, short in items:
        local = os.path.join(tmp, "in" + os.path.splitext(path)[1])
        spec = path if ":" in path else f"{commit}:{path}"
        with open(local, "wb") as f:
            subprocess.run(["git", "--git-dir", gitdir, "show", spec], stdout=f, check=True)
        for start, dur in cuts:
            out = clip_path("fetched", slug, name, seg)
            encode(local, out, start, dur, extra_vf=vf, short=short)
            record(out, source, lic, "fetched", notes)
            seg += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
