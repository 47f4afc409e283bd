"""Exploratory plots of a labelled set: class balance, durations, resolutions, a 2-D feature map."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from app.data.manifest import Dataset  # noqa: E402

MARKERS = ("o", "s", "^", "D", "v", "P", "X")  # one per split, in the order of ds.splits


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(ds: Dataset, out: Path, *, features: str | None = None, progress: bool = True,
                backbone: str = "efficientnet_lite0", geometry: str = "letterbox") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    counts = ds.counts()
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(ds.classes))
    for split in ds.splits:
        vals = np.array([counts.get(split, {}).get(c, 0) for c in ds.classes])
        ax.bar(ds.classes, vals, bottom=bottom, label=split)
        bottom += vals
    ax.set_title("class balance by split")
    ax.legend()
    files.append(_save(fig, out / "class_balance.png"))

    media = [(it, ds.media[it.id]) for it in ds.items if it.id in ds.media]
    fig, ax = plt.subplots(figsize=(7, 4))
    for c in ds.classes:
        d = [m.duration for it, m in media if it.label == c]
        if d:
            ax.hist(d, bins=20, alpha=0.5, label=c)
    ax.set_xlabel("duration (s)")
    ax.set_title("durations by class")
    ax.legend()
    files.append(_save(fig, out / "durations.png"))

    fig, ax = plt.subplots(figsize=(7, 5))
    for k, c in enumerate(ds.classes):
        pts = np.array([(m.width, m.height) for it, m in media if it.label == c])
        if len(pts):
            jitter = np.random.default_rng(k).normal(0, 4, pts.shape)
            ax.scatter(pts[:, 0] + jitter[:, 0], pts[:, 1] + jitter[:, 1], s=14, alpha=0.6, label=c)
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
    ax.set_title("resolutions by class (jittered)")
    ax.legend()
    files.append(_save(fig, out / "resolutions.png"))

    files.append(_projection(ds, out, features, progress, backbone, geometry))
    return files


def _mean_features(ds: Dataset, features: str | None, progress: bool, backbone_name: str,
                   geometry: str) -> tuple[list[str], np.ndarray]:
    if features:
        from app.features.store import read_features

        fs = read_features(features)
        mask = np.arange(fs.features.shape[1])[None, :] < fs.num_frames[:, None]
        means = (fs.features * mask[..., None]).sum(1) / fs.num_frames[:, None]
        return fs.ids, means
    from tqdm import tqdm

    from app.data.extraction import prefetch
    from app.features.engine import create_backbone
    from app.video import sample_frames

    backbone = create_backbone(backbone_name, geometry=geometry)
    ids, rows = [], []

    def sample(it):
        return sample_frames(it.path, 8, start=it.start, end=it.end, transform=backbone.prepare_frame)

    for it, sampled in tqdm(prefetch(sample, ds.items), total=len(ds.items), desc="features", disable=not progress):
        if isinstance(sampled, Exception):
            continue
        ids.append(it.id)
        rows.append(backbone(sampled.frames).mean(0))
    return ids, np.array(rows)


def _projection(ds: Dataset, out: Path, features: str | None, progress: bool, backbone: str, geometry: str) -> Path:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    ids, means = _mean_features(ds, features, progress, backbone, geometry)
    items = {it.id: it for it in ds.items}
    keep = [i for i, item in enumerate(ids) if item in items]
    fig, ax = plt.subplots(figsize=(7, 6))
    if len(keep) >= 5:
        x = PCA(n_components=min(50, len(keep) - 1), random_state=0).fit_transform(means[keep])
        xy = TSNE(n_components=2, perplexity=min(30, max(2, len(keep) // 4)), random_state=0).fit_transform(x)
        for k, c in enumerate(ds.classes):
            for split, marker in zip(ds.splits, MARKERS * (1 + len(ds.splits) // len(MARKERS))):
                sel = [j for j, i in enumerate(keep) if items[ids[i]].label == c and items[ids[i]].split == split]
                if sel:
                    ax.scatter(xy[sel, 0], xy[sel, 1], s=18, marker=marker, color=f"C{k}", alpha=0.7,
                               label=f"{c} ({split})")
        ax.legend(fontsize=6, ncol=2)
    ax.set_title("t-SNE of mean frame features (colour: class, marker: split)")
    return _save(fig, out / "feature_tsne.png")
