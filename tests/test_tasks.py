"""app.tasks: the Flask-free unit of work, on the shipped default model and real content4 clips.

The same document must come out of ``run_task`` called directly, ``POST /classify`` and
``videoclf classify --json``; only ``timings_ms`` (wall-clock) may differ.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.bundle import DEFAULT_BUNDLE
from app.tasks import MAX_K, ExplainOptions, OptionError, StoredVideo, TaskOptions, run_task
from app.video import VideoDecodeError
from tests.conftest import REPO, post_video


def without_timings(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "timings_ms"}


@pytest.fixture(scope="module")
def clf():
    from app.classifier import SingleVideoClassifier

    return SingleVideoClassifier(DEFAULT_BUNDLE, device="cpu")


@pytest.fixture(scope="module")
def clip(clips):
    return clips[2]  # Gaming


def test_the_task_module_imports_neither_flask_nor_torch():
    code = ("import sys, app.tasks; "
            "print(sorted(m for m in ('flask', 'werkzeug', 'torch', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("values,message", [
    ({"tta": "yes"}, r"tta must be true, false or None .* got 'yes'"),
    ({"top_k": 0}, "top_k must be a whole number of 1 or more, got 0"),
    ({"top_k": "many"}, "top_k must be a whole number of 1 or more, got 'many'"),
    ({"top_k": True}, "top_k must be a whole number"),
    ({"timeline": "minutes"}, r"timeline must be one of interval, shots \(or empty for no timeline\), got 'minutes'"),
    ({"interval": 3.0}, "interval is the window length of timeline=interval; it cannot go with timeline=None"),
    ({"timeline": "shots", "interval": 3.0}, "cannot go with timeline=shots"),
    ({"timeline": "interval", "interval": 0.0}, "interval must be a number of seconds above 0 and at most 600"),
    ({"timeline": "interval", "interval": float("nan")}, "got nan"),
    ({"timeline": "interval", "interval": float("inf")}, "got inf"),
    ({"timeline": "interval", "interval": 601}, "at most 600, got 601"),
    ({"frames": "yes"}, "frames must be true or false"),
    ({"explain": ExplainOptions(), "timeline": "interval"}, "an explanation comes without a timeline"),
])
def test_bad_options_name_the_value_and_the_valid_ones(values, message):
    with pytest.raises(OptionError, match=message) as info:
        TaskOptions(**values)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("values,message", [
    ({"k": 0}, f"k must be a whole number from 1 to {MAX_K}, got 0"),
    ({"k": MAX_K + 1}, f"from 1 to {MAX_K}, got {MAX_K + 1}"),
    ({"k": "abc"}, "got 'abc'"),
    ({"method": "saliency"}, "method must be one of gradcam, gradcam\\+\\+, got 'saliency'"),
])
def test_bad_explain_options(values, message):
    with pytest.raises(OptionError, match=message):
        ExplainOptions(**values)


def test_long_values_are_cut_short_in_messages():
    with pytest.raises(OptionError) as info:
        TaskOptions(timeline="x" * 10_000)
    assert len(str(info.value)) < 200


def test_options_round_trip_through_a_stored_job():
    options = TaskOptions(tta=True, top_k=2, timeline="interval", interval=1.5, frames=True)
    stored = json.loads(json.dumps(options.to_dict()))
    assert stored == {"tta": True, "top_k": 2, "timeline": "interval", "interval": 1.5, "frames": True}
    assert TaskOptions.from_dict(stored) == options
    explain = TaskOptions(explain=ExplainOptions(k=2, method="gradcam++", target="Gaming"))
    assert TaskOptions.from_dict(json.loads(json.dumps(explain.to_dict()))) == explain
    assert TaskOptions.from_dict({"tta": False}) == TaskOptions(tta=False)  # a job stored before the other keys
    with pytest.raises(OptionError, match="top_k"):
        TaskOptions.from_dict({"top_k": -1})


def test_a_class_the_model_lacks_is_refused_and_a_bad_segment_is_bad_segment(clf, clip):
    options = TaskOptions(explain=ExplainOptions(target="Cats"))
    with pytest.raises(OptionError, match="class must be one of Animation, Flat_Content, Gaming, Natural_Content"):
        run_task(clf, StoredVideo(clip), options)
    for start, end in ((-1.0, None), (2.0, 1.0), (float("nan"), None), ("1", None)):
        with pytest.raises(VideoDecodeError) as info:  # as the API's code, not a bare ValueError
            run_task(clf, StoredVideo(clip, start=start, end=end), TaskOptions())
        assert info.value.code == "bad_segment"
    with pytest.raises(VideoDecodeError) as info:
        clf.classify_video(clip, start=-1.0)
    assert info.value.code == "bad_segment"


@pytest.mark.parametrize("options,stages", [
    (TaskOptions(), ["decoding", "members", "done"]),
    (TaskOptions(timeline="interval"), ["decoding", "members", "timeline", "done"]),
    (TaskOptions(explain=ExplainOptions(k=1)), ["decoding", "members", "explaining", "done"]),
])
def test_progress_reports_stages_in_order_and_never_goes_back(clf, clip, options, stages):
    reports = []
    run_task(clf, StoredVideo(clip), options, progress=lambda stage, f: reports.append((stage, f)))
    names = [s for s, _ in reports]
    assert [s for i, s in enumerate(names) if i == 0 or names[i - 1] != s] == stages
    fractions = [f for _, f in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len([s for s in names if s == "decoding"]) >= 2  # frames arriving move it within decoding


def test_a_timeline_of_a_segment_covers_that_segment(clf, clip):
    doc = run_task(clf, StoredVideo(clip, start=1.0, end=3.0), TaskOptions(timeline="interval", interval=1.0))
    assert [(w["start"], w["end"]) for w in doc["timeline"]["windows"]] == [(1.0, 2.0), (2.0, 3.0)]
    assert doc["timeline"]["video"]["probabilities"] == doc["probabilities"]


def test_a_segment_is_classified_from_its_own_frames(clf, clip):
    doc = run_task(clf, StoredVideo(clip, filename="part.mp4", start=0.5, end=2.0), TaskOptions())
    times = [f["timestamp"] for f in doc["frames"]]
    assert doc["video"]["filename"] == "part.mp4"
    assert 0.5 <= min(times) and max(times) <= 2.0


def test_the_task_gives_the_document_of_post_classify(make_web_app, clf, clip):
    """Called without any Flask app, on its own classifier: the same JSON the web route answers."""
    options = TaskOptions(tta=True, top_k=2, timeline="interval", interval=2.0)
    direct = run_task(clf, StoredVideo(clip, filename="upload.mp4"), options)
    app = make_web_app(MODEL_DIR=str(DEFAULT_BUNDLE), DEVICE="cpu", SYNC_TIMEOUT=300.0)
    response = post_video(app.test_client(), clip, name="upload.mp4", tta="true", top_k="2", timeline="interval",
                          interval="2")
    assert response.status_code == 200, response.get_data(as_text=True)
    served = response.get_json()
    assert served["model"]["name"] == "default" and served["model"]["trained"] is True
    assert len(direct["top_k"]) == 2 and direct["tta"]["enabled"] and direct["timeline"]["windows"]
    assert without_timings(served) == json.loads(json.dumps(without_timings(direct)))


def test_thumbnails_come_one_per_frame_with_every_class_listed(clf, clip):
    doc = run_task(clf, StoredVideo(clip), TaskOptions(frames=True))
    assert len(doc["thumbnails"]) == len(doc["frames"]) and doc["thumbnails"][0].startswith("data:image/jpeg;base64,")
    assert len(doc["top_k"]) == len(clf.classes)
    assert "thumbnails" not in run_task(clf, StoredVideo(clip), TaskOptions())


def test_videoclf_classify_prints_the_task_document(clf, clip, capsys):
    from app.cli import main

    code = main(["classify", "--model", str(DEFAULT_BUNDLE), "--device", "cpu", "--json", "--tta", "--top-k", "2",
                 str(clip)])
    out, _ = capsys.readouterr()
    assert code == 0
    printed = json.loads(out)
    assert printed.pop("file") == str(clip)
    direct = run_task(clf, StoredVideo(clip), TaskOptions(tta=True, top_k=2))
    assert printed["label"] == direct["label"] and printed["probabilities"] == direct["probabilities"]
    assert without_timings(printed) == json.loads(json.dumps(without_timings(direct)))


def test_videoclf_classify_refuses_bad_options_with_the_task_message(clip, capsys):
    from app.cli import main

    assert main(["classify", "--interval", "3", str(clip)]) == 2  # before any model is loaded
    err = capsys.readouterr().err
    assert "videoclf: error: [bad_field] interval is the window length of timeline=interval" in err
    assert main(["classify", "--timeline", "interval", "--interval", "0", str(clip)]) == 2
    assert "interval must be a number of seconds above 0" in capsys.readouterr().err
