"""Video decoding and frame sampling (no model code here)."""
from app.video.limits import DecodeLimits, get_limits, set_limits
from app.video.sampling import (
    MAX_FRAME_PIXELS,
    SampledVideo,
    VideoDecodeError,
    VideoMetadata,
    probe,
    sample_frames,
    sample_plan,
    uniform_timestamps,
)

__all__ = [
    "MAX_FRAME_PIXELS",
    "DecodeLimits",
    "SampledVideo",
    "VideoDecodeError",
    "VideoMetadata",
    "get_limits",
    "probe",
    "sample_frames",
    "sample_plan",
    "set_limits",
    "uniform_timestamps",
]
