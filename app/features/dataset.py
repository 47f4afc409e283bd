"""Extract features for a whole labelled dataset into an HDF5 store (resumable)."""
from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from tqdm import tqdm

from app.data.manifest import Dataset, Item
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


def extract_dataset(dataset: Dataset, out: str | os.PathLike, backbone: Backbone, *, max_frames: int,
                    scales: Sequence[float] = (1.0,), splits: Sequence[str] | None = None,
                    progress: bool = True) -> ExtractSummary:
    """Append every item of ``dataset`` (optionally only ``splits``) not yet in ``out``.

    A video that cannot be decoded is recorded in the store's ``failures`` and reported; it does
    not stop the others.
    """
    summary = ExtractSummary()
    with FeatureStore(out, classes=dataset.classes, backbone=backbone.describe(), max_frames=max_frames,
                      scales=scales) as store:
        done = store.ids()
        todo: list[Item] = []
        for it in dataset.items:
            if splits and it.split not in splits:
                continue
            if it.id in done:
                summary.skipped += 1
            else:
                todo.append(it)

        def sample(it: Item):
            return sample_frames(it.path, max_frames, scales=scales, start=it.start, end=it.end,
                                 transform=backbone.prepare_frame)

        bar = tqdm(total=len(todo), desc="extract", unit="video", disable=not progress, dynamic_ncols=True)
        for it, sampled in prefetch(sample, todo):
            bar.update(1)
            if isinstance(sampled, Exception):
                if not isinstance(sampled, (VideoDecodeError, OSError)):
                    raise sampled
                summary.failed[it.id] = str(sampled)
                store.record_failure(it.id, str(sampled))
                log.warning("skipped %s: %s", it.rel, sampled)
                continue
            feats, times = features_from_sampled(sampled, backbone)
            m = sampled.metadata
            store.append(item_id=it.id, path=it.rel, split=it.split, label=it.label, features=feats,
                         timestamps=times, duration=m.duration, fps=m.fps, width=m.width, height=m.height)
            store.clear_failure(it.id)
            summary.written += 1
        bar.close()
    return summary
