"""Training: members, calibration, the mean-pool baseline, and the pipeline that ships a bundle."""
