"""videoclf: video classification (ML core in app.video/features/temporal/..., web layer in app.web)."""
import os

# OpenCV and its FFmpeg print warnings for every unreadable input; our errors say it better.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__version__ = "0.1.0"
