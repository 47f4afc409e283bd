"""Shot boundaries with PySceneDetect's content detector (HSV changes between frames)."""
from __future__ import annotations

import logging
import math
import os

from app.video import VideoDecodeError

# Above this length, frames are skipped so shot detection looks at about SKIP_TO_FPS frames/s:
# cuts are then found to within a fraction of a second, at a bounded cost for hour-long inputs.
logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # it logs every run at INFO

LONG_VIDEO_S = 300.0
SKIP_TO_FPS = 4.0


def detect_shots(path: str | os.PathLike, *, threshold: float = 27.0, min_shot_s: float = 0.5) -> list[float]:
    """Times (seconds) where a new shot starts, excluding 0. Raises VideoDecodeError if unreadable."""
    from scenedetect import ContentDetector, SceneManager, open_video
    from scenedetect.video_stream import VideoOpenFailure

    try:
        video = open_video(str(path), backend="opencv")
    except (VideoOpenFailure, OSError, ValueError) as exc:
        raise VideoDecodeError(f"{os.path.basename(str(path))}: shot detection could not read the video ({exc})",
                               code="not_video") from exc
    fps = float(video.frame_rate or 25.0)
    manager = SceneManager()
    manager.add_detector(ContentDetector(threshold=threshold, min_scene_len=max(1, round(min_shot_s * fps))))
    duration = _seconds(video.duration) if video.duration is not None else 0.0
    skip = max(0, math.ceil(fps / SKIP_TO_FPS) - 1) if duration > LONG_VIDEO_S else 0
    manager.detect_scenes(video=video, frame_skip=skip)
    scenes = manager.get_scene_list(start_in_scene=True)
    return [round(_seconds(start), 3) for start, _ in scenes[1:]]


def _seconds(timecode) -> float:
    # PySceneDetect 0.7 deprecates get_seconds() for the .seconds property; 0.6 has only the method.
    return float(timecode.seconds) if hasattr(type(timecode), "seconds") else float(timecode.get_seconds())
