"""Extract features for a whole labelled dataset into an HDF5 store (resumable)."""
from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
from tqdm import tqdm

from app.data.manifest import Dataset, Item
from app.features.augment import PixelAugment, copy_id
from app.features.engine import Backbone
from app.features.extract import features_from_sampled
from app.features.store import FeatureStore
from app.video import VideoDecodeError, sample_frames

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def prefetch(func: Callable[[T], R], items: Iterable[T], depth: int = 2) -> Iterator[tuple[T, R | Exception]]:
    """``(item, func(item))`` in order, computing up to ``depth`` items ahead on worker threads.

    Decoding releases the GIL, so the next videos decode while the backbone runs on this one;
    ``depth`` bounds how many decoded videos wait in memory. Exceptions are returned, not raised.
    """
    def call(item):
        try:
            return func(item)
        except Exception as exc:  # handed to the consumer, which decides
            return exc

    with ThreadPoolExecutor(max_workers=depth) as pool:
        pending = deque()
        for item in items:
            pending.append((item, pool.submit(call, item)))
            if len(pending) > depth:
                first, fut = pending.popleft()
                yield first, fut.result()
        while pending:
            first, fut = pending.popleft()
            yield first, fut.result()


@dataclass
class ExtractSummary:
    written: int = 0
    skipped: int = 0  # already in the store
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Job:
    item: Item
    row_id: str
    transform: Callable[[np.ndarray], np.ndarray]


def extract_dataset(dataset: Dataset, out: str | os.PathLike, backbone: Backbone, *, max_frames: int,
                    scales: Sequence[float] = (1.0,), splits: Sequence[str] | None = None,
                    progress: bool = True, augment: PixelAugment | None = None, copies: int = 0,
                    shift: Callable[[np.ndarray], np.ndarray] | None = None) -> ExtractSummary:
    """Append every item of ``dataset`` (optionally only ``splits``) not yet in ``out``.

    With ``augment`` and ``copies`` > 0, each *train* item also gets ``copies`` augmented rows
    (ids ``<id>@aug<k>``). ``shift`` is applied to every frame before preprocessing (for
    robustness checks; use a separate store). A video that cannot be decoded is recorded in the
    store's ``failures`` and reported; it does not stop the others.
    """
    summary = ExtractSummary()
    prepare = backbone.prepare_frame
    base = (lambda rgb: prepare(shift(rgb))) if shift else prepare
    with FeatureStore(out, classes=dataset.classes, backbone=backbone.describe(), max_frames=max_frames,
                      scales=scales) as store:
        done = store.ids()
        jobs: list[_Job] = []
        for it in dataset.items:
            if splits and it.split not in splits:
                continue
            wanted = [_Job(it, it.id, base)]
            if augment is not None and it.split == "train":
                wanted += [_Job(it, copy_id(it.id, k), _compose(prepare, augment.for_clip(it.id, k)))
                           for k in range(1, copies + 1)]
            for job in wanted:
                if job.row_id in done:
                    summary.skipped += 1
                else:
                    jobs.append(job)

        def sample(job: _Job):
            it = job.item
            return sample_frames(it.path, max_frames, scales=scales, start=it.start, end=it.end,
                                 transform=job.transform)

        bar = tqdm(total=len(jobs), desc="extract", unit="video", disable=not progress, dynamic_ncols=True)
        for job, sampled in prefetch(sample, jobs):
            bar.update(1)
            it = job.item
            if isinstance(sampled, Exception):
                if not isinstance(sampled, (VideoDecodeError, OSError)):
                    raise sampled
                summary.failed[job.row_id] = str(sampled)
                store.record_failure(job.row_id, str(sampled))
                log.warning("skipped %s: %s", it.rel, sampled)
                continue
            feats, times = features_from_sampled(sampled, backbone)
            m = sampled.metadata
            store.append(item_id=job.row_id, path=it.rel, split=it.split, label=it.label, features=feats,
                         timestamps=times, duration=m.duration, fps=m.fps, width=m.width, height=m.height)
            store.clear_failure(job.row_id)
            summary.written += 1
        bar.close()
    return summary


def _compose(prepare, augment):
    return lambda rgb: prepare(augment(rgb))
