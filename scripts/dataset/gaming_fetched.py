#!/usr/bin/env python3
"""more4 / Gaming: gameplay recordings inside GitHub repositories brought with the search tool's `fetch`.
Usage: gaming_fetched.py KEY GITDIR   (keys: mario contra flappy pyxel procgen lolstream)
Repositories: uvipen/Super-mario-bros-PPO-pytorch, uvipen/Contra-PPO-pytorch,
uvipen/Flappy-bird-deep-Q-learning-pytorch, kitao/pyxel, openai/procgen,
AbelNTU/Video-Faker (its snapshot's git dir is repo/.git).
(GITDIR = the fetched snapshot's git directory, no work tree; files are read with
`git --git-dir=GITDIR show COMMIT:path` at the commits pinned below.) Clips go to
datasets/more4/fetched/Gaming/ (NOT committed: fetched material); their rows replace this source's rows in
datasets/more4/parts/Gaming.csv. Needs ffmpeg/ffprobe. None of these is Atari/ALE or Doom footage."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetched_lib import run

LABEL = "Gaming"
# items: (path in repo, name, [(start, dur), ...], extra_vf, short side cap, fps)
SOURCES = {
    "mario": dict(repo="uvipen/Super-mario-bros-PPO-pytorch", commit="ab4248d715346c6adc33c2157455e2b98c130bcc",
        license="MIT (repository)", slug="smb-ppo",
        what="Super Mario Bros. (NES) played by a PPO agent, output/ recordings of five levels",
        notes="NES emulator footage (gym-super-mario-bros), 60 fps source, one segment per level video",
        items=[("output/video_1_1.mp4", "w1-1", [(0.5, 9.0)], None, 360, None),
               ("output/video_1_4.mp4", "w1-4", [(0.5, 9.0)], None, 360, None),
               ("output/video_3_1.mp4", "w3-1", [(2.0, 9.0)], None, 360, None),
               ("output/video_5_2.mp4", "w5-2", [(1.0, 9.0)], None, 360, None),
               ("output/video_8_2.mp4", "w8-2", [(1.0, 9.0)], None, 360, None)]),
    "contra": dict(repo="uvipen/Contra-PPO-pytorch", commit="3b10ab2f806c80055f798b9ffbe4e0a643b6ad6a",
        license="not stated (repository uvipen/Contra-PPO-pytorch)", slug="contra-ppo",
        what="Contra (NES) stage 1 played by a PPO agent, output/video_1.mp4",
        notes="NES run-and-gun footage, 60 fps source",
        items=[("output/video_1.mp4", "stage1", [(2, 9), (14, 9), (26, 9), (38, 9), (50, 9), (60, 9)], None, 360, None)]),
    "flappy": dict(repo="uvipen/Flappy-bird-deep-Q-learning-pytorch", commit="c4f2c363d7f887b0e2d028367deef40568f638cc",
        license="MIT (repository)", slug="flappy-dqn",
        what="Flappy Bird clone (pygame) played by a DQN agent, demo/flappybird.mp4, game window cropped out of a desktop capture",
        notes="crop=284:508:98:86 keeps only the game window (the capture also shows an IDE)",
        items=[("demo/flappybird.mp4", "window", [(1, 8), (9.5, 8), (17.5, 8)], "crop=284:508:98:86", 360, None)]),
    "pyxel": dict(repo="kitao/pyxel", commit="50f9bd77780c993aca62b5b221766bde5791081d",
        license="MIT (repository)", slug="pyxel-examples",
        what="Pyxel retro engine example games: jump game, shooter, platformer, Mega-ball, tiled map (docs/images GIFs)",
        notes="pixel-art games recorded by the engine's own GIF capture; GIF converted to constant frame rate",
        items=[("docs/images/02_jump_game.gif", "jump-game", [(0, None)], None, 360, None),
               ("docs/images/09_shooter.gif", "shooter", [(0, None)], None, 360, None),
               ("docs/images/10_platformer.gif", "platformer", [(0, None)], None, 360, None),
               ("docs/images/megaball.gif", "megaball", [(0.5, 9.5)], None, 360, None),
               ("docs/images/15_tiled_map_file.gif", "tiled-map", [(0, None)], None, 360, None)]),
    "procgen": dict(repo="openai/procgen", commit="37b521dbb530f0734fd82f72d921f5e0e715c0d1",
        license="MIT (repository; game assets per ASSET_LICENSES.md)", slug="procgen",
        what="Procgen Benchmark: 4x4 mosaic of its 16 procedurally generated 2-D games (screenshots/procgen.gif)",
        notes="mosaic of 16 game views (CoinRun, StarPilot, Maze, ...); whole GIF (4 s)",
        items=[("screenshots/procgen.gif", "mosaic", [(0, None)], None, 360, None)]),
    "lolstream": dict(repo="AbelNTU/Video-Faker", commit="a09ba9bfcaaeb73d15b4a87c0c93bb4975db4930",
        license="not stated (no licence in the repository)", slug="lol-stream",
        what="League of Legends stream excerpt (shortvideo/rius1v4.mp4): 3-D MOBA gameplay with HUD, sponsor logo and a facecam",
        notes="modern 3-D game (isometric MOBA) as streamed: HUD, minimap, a small webcam overlay bottom left; the last segment includes the greyed death screen",
        items=[("shortvideo/rius1v4.mp4", "match", [(4, 9), (13, 9), (22, 9)], None, 360, None)]),
}

if __name__ == "__main__":
    run(LABEL, SOURCES, sys.argv[1], sys.argv[2])
