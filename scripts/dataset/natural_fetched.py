#!/usr/bin/env python3
"""more4 / Natural_Content: clips cut from real camera videos inside GitHub repositories.

The repositories are brought with the search tool's `fetch` verb (a bare git dir, no work tree);
videos are extracted with `git --git-dir=GITDIR show COMMIT:path` at the commits pinned below.
The clips go to datasets/more4/fetched/Natural_Content/ (NOT committed: fetched material) and
their rows replace the `fetched` rows of datasets/more4/parts/Natural_Content.csv.

Usage:  natural_fetched.py owner/name=/path/to/gitdir [owner/name=/path ...]
        natural_fetched.py /work/.mirror/owner+name/repo [...]   (repo name taken from the path)
Sources whose git dir is not given are skipped (their existing CSV rows are kept).
Repositories (fetch each with the search tool, then pass its git dir): facebookresearch/sam2,
facebookresearch/co-tracker, gaomingqi/Track-Anything, talmolab/sleap, sczhou/ProPainter,
OpenGVLab/Ask-Anything, DAMO-NLP-SG/Video-LLaMA, PKU-YuanGroup/Video-LLaVA, magic-research/PLLaVA,
LLaVA-VL/LLaVA-NeXT, dmlc/decord, ageitgey/face_recognition, DeepLabCut/DeepLabCut, hkchengrex/Cutie,
udacity/CarND-LaneLines-P1, DeepMotionEditing/deep-motion-editing, KwaiVGI/LivePortrait,
AbelNTU/Video-Faker (its snapshot's git dir is repo/.git: pass it as AbelNTU/Video-Faker=GITDIR).
Needs ffmpeg/ffprobe (apt-get install -y ffmpeg).
"""
import csv, os, shutil, subprocess, sys, tempfile
from fractions import Fraction

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'datasets', 'more4'))
LABEL = 'Natural_Content'
OUTDIR = os.path.join(ROOT, 'fetched', LABEL)
CSV = os.path.join(ROOT, 'parts', LABEL + '.csv')
HEADER = ['path', 'label', 'source', 'license', 'origin', 'duration_s', 'width', 'height', 'fps', 'notes']

# slug: repo, commit, licence, what is in it, short side cap, items [(path in repo, name, [(start, dur), ...][, 'crop=W:H:X:Y'])]
SOURCES = {
    'sam2': dict(repo='facebookresearch/sam2', commit='2b90b9f5ceec907a1c18123530e92e794ad901a4',
        license='Apache-2.0', short=360, what='SAM 2 demo gallery and notebook videos (dog walk, cups, letter blocks, coffee pour, juggling, girl on a bed)',
        items=[('demo/data/gallery/01_dog.mp4', 'dog', [(0, 8)]),
               ('demo/data/gallery/02_cups.mp4', 'cups', [(0, 8)]),
               ('demo/data/gallery/03_blocks.mp4', 'blocks', [(0, 8)]),
               ('demo/data/gallery/04_coffee.mp4', 'coffee', [(0, 8)]),
               ('demo/data/gallery/05_default_juggle.mp4', 'juggle', [(0, 8)]),
               ('notebooks/videos/bedroom.mp4', 'bedroom', [(0, 6.5)])]),
    'cotracker': dict(repo='facebookresearch/co-tracker', commit='82e02e8029753ad4ef13cf06be7f4fc5facdda4d',
        license='CC-BY-NC-4.0', short=360, what='CoTracker demo videos: phone footage (portrait) of a backpack, cat, pillow, teddy; an apple on a carpet',
        items=[('assets/apple.mp4', 'apple', [(0, 5)]),
               ('gradio_demo/videos/backpack.mp4', 'backpack', [(0, 4.3)]),
               ('gradio_demo/videos/cat.mp4', 'cat', [(0, 4.3)]),
               ('gradio_demo/videos/pillow.mp4', 'pillow', [(0, 7.2)]),
               ('gradio_demo/videos/teddy.mp4', 'teddy', [(0, 7.0)])]),
    'trackanything': dict(repo='gaomingqi/Track-Anything', commit='e6e159273790974e04eeea6673f1f93c035005fc',
        license='MIT', short=360, what='Track-Anything test samples: live-action superhero film excerpt on an airport apron, a kitten, an aquarium with visitors',
        # sample13 is a live-action film excerpt; its middle (a VFX-heavy mid-air shot) is left out
        items=[('test_sample/test-sample13.mp4', 'airport', [(0, 8), (17, 8)]),
               ('test_sample/test-sample2.mp4', 'kitten', [(0, 5.0)]),
               ('test_sample/test-sample4.mp4', 'aquarium', [(0, 7.5)])]),
    'sleap': dict(repo='talmolab/sleap', commit='7785f660eff1ae2ee4deaef5d5dc0e7758dbbd16',
        license='BSD-3-Clause-Clear', short=360, what='SLEAP animal-pose data: grayscale lab camera of a pair of fruit flies (square), a moving Lego robot',
        # (the 1024x1024 fly-arena videos were dropped: near-static black frames)
        items=[('tests/data/videos/centered_pair_small.mp4', 'flypair', [(5, 8), (25, 8), (42, 8)]),
               ('tests/data/videos/small_robot.mp4', 'robot', [(1.3, 4.2)])]),
    'propainter': dict(repo='sczhou/ProPainter', commit='e870e79321c31b733e2031af5aa2fb1fe3ac7eec',
        license='S-Lab License 1.0 (non-commercial)', short=270, what='ProPainter inputs: snowmobile/vehicle on snow, figure skating broadcast, parkour, BMX by a graffiti wall',
        items=[('inputs/video_completion/running_car.mp4', 'snowcar', [(0, 5.8), (5.85, 5.8)]),
               ('web-demos/hugging_face/test_sample/test-sample0.mp4', 'skating', [(0, 3.06)]),
               ('web-demos/hugging_face/test_sample/test-sample1.mp4', 'parkour', [(0, 3.1)]),
               ('web-demos/hugging_face/test_sample/test-sample2.mp4', 'bmx', [(0, 3.3)])]),
    'askanything': dict(repo='OpenGVLab/Ask-Anything', commit='4dd8210b030374bb0c510a57dfbe916f70d3ef71',
        license='MIT', short=360, what='VideoChat example videos: batting practice, yoga on a roof, mixing cake batter (portrait), bass guitar',
        items=[('example/hitting_baseball.mp4', 'baseball', [(0, 9.5)]),
               ('example/yoga.mp4', 'yoga', [(0, 9.5)]),
               ('video_chat_with_ChatGPT/images/making_cake.mp4', 'cake', [(0, 9.5)]),
               ('video_chat_with_ChatGPT/images/playing_guitar.mp4', 'guitar', [(0, 9.5)])]),
    'videollama': dict(repo='DAMO-NLP-SG/Video-LLaMA', commit='64888c0a77e8e66af606c37629fbbf79c4582959',
        license='BSD-3-Clause', short=360, what='Video-LLaMA examples: concert, birthday cake (stock), river boat, man at a door, skateboarding dog (portrait)',
        items=[('examples/applausing.mp4', 'concert', [(0, 9.5)]),
               ('examples/birthday.mp4', 'birthday', [(0, 8)]),
               ('examples/boat.mp4', 'boat', [(0, 6)]),
               ('examples/dog_barking.mp4', 'doorway', [(0, 7.1)]),
               ('examples/skateboarding_dog.mp4', 'skatedog', [(0, 9)])]),
    'videollava': dict(repo='PKU-YuanGroup/Video-LLaVA', commit='984e65bf8e8fd97072258547c4c8061fdd2416b7',
        license='Apache-2.0', short=360, what='Video-LLaVA demo examples: baby reading, drummer (narrow portrait), arranging cut peppers (stock)',
        items=[('videollava/serve/examples/sample_demo_1.mp4', 'baby', [(0, 9.5)]),
               ('videollava/serve/examples/sample_demo_22.mp4', 'drummer', [(0, 9.5), (13, 9.5), (26, 9.5)]),
               ('videollava/serve/examples/sample_demo_9.mp4', 'peppers', [(0, 9)])]),
    'pllava': dict(repo='magic-research/PLLaVA', commit='6f49fd281a855c4fa3103595ba2800a4dce7ec88',
        license='not stated', short=360, what='PLLaVA examples: live-action war film excerpt (1917, 2.39:1 widescreen), outdoor cooking show',
        items=[('example/1917.mp4', 'film1917', [(0, 9.5), (11, 9.5), (22, 9.5)]),
               ('example/cooking.mp4', 'cooking', [(0, 6.4)])]),
    'llavanext': dict(repo='LLaVA-VL/LLaVA-NeXT', commit='df179663ae8b83207df100a1f7af24caec633ff9',
        license='Apache-2.0', short=360, what='LLaVA-NeXT docs video: portrait stage/keynote footage with burnt-in captions',
        items=[('docs/jobs.mp4', 'stage', [(0, 5.8), (5.9, 5.8), (11.8, 5.8)])]),
    'decord': dict(repo='dmlc/decord', commit='d2e56190286ae394032a8141885f76d5372bd44b',
        license='Apache-2.0', short=360, what='decord example video: flipping a pancake in a home kitchen (handheld)',
        items=[('examples/flipping_a_pancake.mkv', 'pancake', [(0, 3.4), (3.45, 3.4), (6.9, 3.4)])]),
    'facerec': dict(repo='ageitgey/face_recognition', commit='2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1',
        license='not stated (repository MIT)', short=360, what='face_recognition example: short_hamilton_clip.mp4, a stage performance at a White House event and its audience (broadcast footage)',
        items=[('examples/short_hamilton_clip.mp4', 'hamilton', [(0, 5.0), (5.05, 4.9)])]),
    'dlc': dict(repo='DeepLabCut/DeepLabCut', commit='2df0f46c8c8c56c8238b46b3d58384163bafb2f0', slow_seek=True,
        license='not stated (repository LGPL-3.0)', short=360, what='DeepLabCut open-field example: grayscale top-down lab camera of a mouse exploring an arena',
        items=[('examples/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4', 'openfield', [(5, 8), (30, 8), (55, 8)])]),
    'cutie': dict(repo='hkchengrex/Cutie', commit='ec5cdd4cf16f75c73ad785a2f96fb97dbad4125a',
        license='not stated (repository MIT)', short=360, what='Cutie example video: excerpt of a 1980s pop music video (singer in front of a brick archway, 4:3)',
        items=[('examples/example.mp4', 'musicvideo', [(0, 4.6)])]),
    # (its solidYellowLeft.mp4 and challenge.mp4 are over the snapshot's 4 MiB file limit: absent)
    'udacitylanes': dict(repo='udacity/CarND-LaneLines-P1', commit='ce5681be7ef8140560c0e464ef2da611e40b4fc9',
        license='MIT (repository)', short=360, what='Udacity lane-finding project test video: forward dashcam on a sunny California highway (test_videos/solidWhiteRight.mp4)',
        items=[('test_videos/solidWhiteRight.mp4', 'dashcam', [(0, 4.4), (4.42, 4.4)])]),
    # three clips of Kevin Parry's '100 ways to walk' treadmill video used as style-transfer inputs;
    # the burnt-in caption (bottom) and the Instagram handle (top) are cropped off
    'treadmill': dict(repo='DeepMotionEditing/deep-motion-editing', commit='74fff8fb35e6378351d03fb14ee22fccae28b0bf',
        license='not stated (repository BSD-2-Clause; footage by Kevin Parry)', short=360,
        what='style-transfer input clips: a man walking in different styles on a treadmill in a garage (square phone video)',
        items=[('style_transfer/data/treadmill/clips/27_Tennage_Hooligan.mp4', 'hooligan', [(0, 3.7)], 'crop=720:552:0:62'),
               ('style_transfer/data/treadmill/clips/32_SCUBA_Diver.mp4', 'scuba', [(0, 3.7)], 'crop=720:552:0:62'),
               ('style_transfer/data/treadmill/clips/95_Collapsing.mp4', 'collapsing', [(0, 3.7)], 'crop=720:552:0:62')]),
    # LivePortrait's driving videos (people pulling faces at a webcam / phone) and source videos (stock-like
    # talking people); its demo GIFs (rendered results) are not used
    'liveportrait': dict(repo='KwaiVGI/LivePortrait', commit='1986663be3b6902605d32200c01f4bfd36cda83d',
        license='not stated (repository MIT)', short=360,
        what='LivePortrait example driving and source videos: close-up faces talking and grimacing at a camera (webcam, phone portrait, indoor and outdoor)',
        items=[('assets/examples/driving/d3.mp4', 'd3', [(0, 8)]),
               ('assets/examples/driving/d6.mp4', 'd6', [(2, 8)]),
               ('assets/examples/driving/d9.mp4', 'd9', [(0, 8)]),
               ('assets/examples/driving/d10.mp4', 'd10', [(0, 8)]),
               ('assets/examples/driving/d13.mp4', 'd13', [(0, 8)]),
               ('assets/examples/source/s18.mp4', 's18', [(0, 9)]),
               ('assets/examples/source/s20.mp4', 's20', [(0, 9)]),
               ('assets/examples/source/s32.mp4', 's32', [(0, 6)])]),
    'ourtimes': dict(repo='AbelNTU/Video-Faker', commit='a09ba9bfcaaeb73d15b4a87c0c93bb4975db4930',
        license='not stated (no licence in the repository; film trailer)', short=360,
        what='trailer of the Taiwanese film Our Times (2015): school, street and shop scenes, burnt-in subtitles (2.5:1 after cropping)',
        # letterbox and the release-date logo (top left) cropped off; logo, pink text cards and title left out
        items=[('shortvideo/ourtimes.mp4', 'trailer', [(1.0, 5.0), (7.0, 3.9), (13.0, 9.5)], 'crop=640:252:0:62')]),
}


def probe(path):
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries',
                          'stream=width,height,r_frame_rate,avg_frame_rate,nb_read_frames', '-of', 'default=nw=1', path],
                         capture_output=True, text=True, check=True).stdout
    return dict(l.split('=', 1) for l in out.split())


def target_fps(r):
    """Source rate capped at 30, odd rates snapped to the nearest common one."""
    f = float(Fraction(r))
    if f >= 30.5:
        return '30'
    std = min(('30', '30000/1001', '25', '24', '24000/1001', '20', '15', '10'), key=lambda s: abs(f - float(Fraction(s))))
    return std if abs(f - float(Fraction(std))) < 0.2 else str(round(f))


def scale_for(w, h, short_cap):
    s = min(short_cap, w, h)          # never upscale
    if w <= h:
        W, H = s, h * s / w
    else:
        W, H = w * s / h, s
    return int(round(W / 2)) * 2, int(round(H / 2)) * 2


def main(args):
    gitdirs = {}
    for a in args:
        if '=' in a:
            k, v = a.split('=', 1)
        else:
            k = os.path.basename(os.path.dirname(os.path.abspath(a))).replace('+', '/', 1)
            v = a
        gitdirs[k] = v
    os.makedirs(OUTDIR, exist_ok=True)
    rows, done = [], set()
    tmp = tempfile.mkdtemp(prefix='natural_fetched_')
    for slug, S in SOURCES.items():
        g = gitdirs.get(S['repo'])
        if not g:
            print('skip (no git dir given):', S['repo']); continue
        done.add(slug)
        for f in os.listdir(OUTDIR):          # drop stale clips of this source
            if f.startswith(slug + '__'):
                os.remove(os.path.join(OUTDIR, f))
        src = 'GitHub %s (%s)' % (S['repo'], S['what'])
        for item in S['items']:
            path, name, segs = item[:3]
            crop = item[3] if len(item) > 3 else None      # optional 'crop=W:H:X:Y' applied before scaling
            raw = os.path.join(tmp, slug + '_' + name + os.path.splitext(path)[1])
            with open(raw, 'wb') as fh:
                subprocess.run(['git', '--git-dir', g, 'show', '%s:%s' % (S['commit'], path)], stdout=fh, check=True)
            p = probe(raw)
            w, h = (int(v) for v in crop[5:].split(':')[:2]) if crop else (int(p['width']), int(p['height']))
            W, H = scale_for(w, h, S['short'])
            fps = target_fps(p['r_frame_rate'])
            for i, (t0, dur) in enumerate(segs):
                rel = 'fetched/%s/%s__%s__seg%02d.mp4' % (LABEL, slug, name, i)
                out = os.path.join(ROOT, rel)
                # slow_seek: decode from the start and drop frames before t0 (a file whose seek points
                # are broken gives corrupt frames with an input-side -ss)
                seek = ['-i', raw, '-ss', str(t0)] if S.get('slow_seek') else ['-ss', str(t0), '-i', raw]
                subprocess.run(['ffmpeg', '-y', '-loglevel', 'error'] + seek + ['-t', str(dur),
                                '-map', '0:v:0', '-dn', '-sn', '-map_metadata', '-1', '-map_chapters', '-1',
                                '-vf', (crop + ',' if crop else '') + 'scale=%d:%d,fps=%s,format=yuv420p' % (W, H, fps), '-c:v', 'libx264',
                                '-profile:v', 'high', '-preset', 'veryfast', '-crf', '27', '-pix_fmt', 'yuv420p',
                                '-movflags', '+faststart', '-an', out], check=True)
                q = probe(out)
                n, r = int(q['nb_read_frames']), Fraction(q['avg_frame_rate'])
                rows.append({'path': rel, 'label': LABEL, 'source': src, 'license': S['license'], 'origin': 'fetched',
                             'duration_s': '%.3f' % (n / r), 'width': q['width'], 'height': q['height'],
                             'fps': '%g' % round(float(r), 3),
                             'notes': '%s@%s t=%.2f-%.2fs' % (path, S['commit'][:10], t0, t0 + dur)})
                print(rel, rows[-1]['duration_s'], q['width'], q['height'], rows[-1]['fps'])
    # keep rows of other scripts / sources not redone
    old = []
    if os.path.exists(CSV):
        with open(CSV) as fh:
            for r in csv.DictReader(fh):
                slug = os.path.basename(r['path']).split('__')[0]
                if not (r['origin'] == 'fetched' and slug in done):
                    old.append(r)
    with open(CSV, 'w', newline='') as fh:
        w = csv.DictWriter(fh, HEADER); w.writeheader(); w.writerows(old + rows)
    shutil.rmtree(tmp)


if __name__ == '__main__':
    main(sys.argv[1:])
