"""Dataset ingestion and validation: every problem found at once, each with its manifest row."""
from __future__ import annotations

import shutil

import pytest

from app.data.manifest import DatasetError, load_dataset
from tests.videos import index_frame, write_cv2


def make_videos(root, label, n, seed, frames=6):
    """``n`` distinct tiny videos of one class under root/<label>/."""
    folder = root / label
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        offset = seed * 1000 + k * 10  # distinct content, so distinct hashes
        paths.append(write_cv2(folder / f"{label}_{k}.mp4", frames, fps=10,
                               frame_fn=lambda i, w, h, o=offset: index_frame(i + o, w, h)))
    return paths


def write_manifest(root, rows, header="split,path,label"):
    text = header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    (root / "manifest.csv").write_text(text)
    return root / "manifest.csv"


@pytest.fixture
def clean(tmp_path):
    """A valid two-class dataset: 12 videos each, 8/2/2 per split."""
    rows = []
    for c, label in enumerate(["cats", "dogs"]):
        for k, p in enumerate(make_videos(tmp_path, label, 12, c)):
            split = "train" if k < 8 else "val" if k < 10 else "test"
            rows.append((split, p.relative_to(tmp_path), label))
    return tmp_path, rows


def test_a_clean_dataset_loads(clean):
    root, rows = clean
    ds = load_dataset(write_manifest(root, rows))
    assert ds.classes == ["cats", "dogs"]
    assert ds.counts() == {"train": {"cats": 8, "dogs": 8}, "val": {"cats": 2, "dogs": 2},
                           "test": {"cats": 2, "dogs": 2}}
    assert not ds.findings
    assert len(ds.media) == 24 and all(m.frame_count == 6 for m in ds.media.values())
    assert len(ds.fingerprint()) == 64


def test_every_problem_is_reported_at_once_with_its_row(clean):
    root, rows = clean
    (root / "notes.mp4").write_text("not a video")
    shutil.copy(root / rows[0][1], root / "copy_of_first.mp4")  # same content as a train file
    rows = rows + [
        ("train", "missing.mp4", "cats"),  # row 26
        ("train", "notes.mp4", "cats"),  # row 27
        ("train", rows[1][1], ""),  # row 28: empty label (same file as row 3, another label)
        ("test", "copy_of_first.mp4", "cats"),  # row 29: leakage with row 2
    ]
    manifest = write_manifest(root, rows)
    text = manifest.read_text().splitlines()
    text.append(f'train,{rows[2][1]},"cats,dogs"')  # row 30: comma in a label
    text.append(f"train,{rows[3][1]},dogs,3,1")  # row 31: start >= end
    text.append(f"train,{rows[4][1]},dogs,5,7")  # row 32: beyond the 0.6 s video
    text[0] = "split,path,label,start,end"
    manifest.write_text("\n".join(text) + "\n")
    with pytest.raises(DatasetError) as info:
        load_dataset(manifest)
    found = {(f.row, f.message.split(":")[0] if f.row else f.message) for f in info.value.findings if f.level == "error"}
    messages = "\n".join(str(f) for f in info.value.findings)
    assert "row 26: missing.mp4: file not found" in messages
    assert "row 27: notes.mp4: notes.mp4: not a readable video" in messages
    assert "row 28: empty label" in messages
    assert "row 30: label 'cats,dogs' contains a comma" in messages
    assert "row 31: segment start 3 s is not before end 1 s" in messages
    assert "row 32: segment start 5 s is past the end of" in messages
    assert "the same video content is in more than one split (leakage)" in messages
    assert "copy_of_first.mp4 (test, row 29)" in messages and "(train, row 2)" in messages
    assert len(found) >= 7
    assert str(info.value).startswith(f"{len([f for f in info.value.findings if f.level == 'error'])} problem(s)")


def test_class_counts_and_balance(tmp_path):
    rows = [("train", p.relative_to(tmp_path), "big") for p in make_videos(tmp_path, "big", 25, 0, frames=2)]
    rows += [("train", p.relative_to(tmp_path), "small") for p in make_videos(tmp_path, "small", 2, 1, frames=2)]
    with pytest.raises(DatasetError, match="class 'small' has 2 item\\(s\\) in the training splits "
                                           "\\(train/val\\); at least 10 are needed"):
        load_dataset(write_manifest(tmp_path, rows))
    test_only = [("test", path, label) for _, path, label in rows]  # an evaluation set: no training rule
    assert not load_dataset(write_manifest(tmp_path, test_only)).errors
    ds = load_dataset(write_manifest(tmp_path, rows), min_per_class=2)
    assert any(f.level == "warning" and "imbalance 12.5x" in f.message for f in ds.findings)
    one = tmp_path / "one"
    one.mkdir()
    rows = [("train", p.relative_to(one), "only") for p in make_videos(one, "only", 10, 2, frames=2)]
    with pytest.raises(DatasetError, match="need at least 2 classes, found 1"):
        load_dataset(write_manifest(one, rows))


def test_missing_columns(tmp_path):
    (tmp_path / "m.csv").write_text("file,class\na.mp4,x\n")
    with pytest.raises(DatasetError, match="needs the columns path and label"):
        load_dataset(tmp_path / "m.csv")


def test_automatic_split_is_stratified_and_keeps_a_videos_segments_together(tmp_path):
    rows = []
    for c, label in enumerate(["a", "b"]):
        for p in make_videos(tmp_path, label, 20, c, frames=20):
            rel = p.relative_to(tmp_path)
            rows += [(rel, label, 0, 1), (rel, label, 1, 2)]  # two segments of each 2 s video
    ds = load_dataset(write_manifest(tmp_path, rows, header="path,label,start,end"), seed=3)
    counts = ds.counts()
    assert set(counts) == {"train", "val", "test"}
    for split, n in (("train", 28), ("val", 6), ("test", 6)):  # 14/3/3 videos per class, 2 segments each
        assert counts[split] == {"a": n, "b": n}, counts
    split_of = {}
    for it in ds.items:
        assert split_of.setdefault(it.path, it.split) == it.split
    again = load_dataset(write_manifest(tmp_path, rows, header="path,label,start,end"), seed=3)
    assert [i.split for i in again.items] == [i.split for i in ds.items]  # reproducible


def test_automatic_split_keeps_a_source_together(tmp_path):
    rows = []
    for c, label in enumerate(["a", "b"]):
        for k, p in enumerate(make_videos(tmp_path, label, 20, c, frames=2)):
            rows.append((p.relative_to(tmp_path), label, f"{label}-source-{k // 2}"))  # 10 sources, 2 clips each
    ds = load_dataset(write_manifest(tmp_path, rows, header="path,label,source"), seed=1)
    assert {it.source for it in ds.items} == {f"{x}-source-{k}" for x in "ab" for k in range(10)}
    split_of = {}
    for it in ds.items:
        assert it.group == it.source
        assert split_of.setdefault(it.source, it.split) == it.split  # never across splits
    for split, n in (("train", 12), ("val", 4), ("test", 4)):  # 6/2/2 sources per class: by source, not clip
        assert ds.counts()[split] == {"a": n, "b": n}, ds.counts()


def test_folder_per_class(tmp_path):
    for c, label in enumerate(["x", "y"]):
        make_videos(tmp_path, label, 14, c, frames=2)  # 10+ of them in train/val after the split
    ds = load_dataset(tmp_path)
    assert ds.classes == ["x", "y"] and len(ds.items) == 28
    assert {i.split for i in ds.items} == {"train", "val", "test"}


def test_fingerprint_names_the_data(clean):
    root, rows = clean
    a = load_dataset(write_manifest(root, rows)).fingerprint()
    swapped = [(s, p, "dogs" if label == "cats" else "cats") for s, p, label in rows]
    b = load_dataset(write_manifest(root, swapped)).fingerprint()
    assert a != b


def test_content4_is_valid(content4):
    ds = load_dataset(content4 / "manifest.csv")
    assert ds.classes == ["Animation", "Flat_Content", "Gaming", "Natural_Content"]
    assert len(ds.items) == 339 and not ds.errors
