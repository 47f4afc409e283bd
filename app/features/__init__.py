"""Per-frame CNN features: backbones, their engines, multi-scale fusion and the HDF5 store."""
