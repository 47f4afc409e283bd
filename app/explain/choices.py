"""The named choices of timelines and explanations, importable without torch.

The web layer, the CLI and the task options validate against these tuples; importing them from
``app.explain.timeline`` or ``app.explain.gradcam`` would load torch for three names.
"""
from __future__ import annotations

TIMELINE_MODES = ("interval", "shots")  # fixed windows, or one window per shot (PySceneDetect)
AGGREGATES = ("mean", "vote")  # how window predictions make the whole video's answer
CAM_METHODS = ("gradcam", "gradcam++")
