"""Why and when: Grad-CAM explanations of frames, and per-window timelines of long videos."""
