"""The pages in a real headless Chromium (Debian's, driven by Playwright) against the real server:
upload a clip through the page and see the result; open the dashboard. Screenshots of both go to
tests/artifacts/ (gitignored) for a person to look at."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import pick_clips
from tests.live_server import gunicorn

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(wiring_bundle, reviewed_bundle, tmp_path_factory):
    env = {"VIDEOCLF_MODEL": str(wiring_bundle), "VIDEOCLF_MODELS_DIR": str(reviewed_bundle.parent)}
    with gunicorn(tmp_path_factory.mktemp("browser"), env) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser test needs Debian's chromium at {CHROMIUM}: run scripts/setup.sh --dev "
                    f"(or apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []  # console errors (a CSP violation, a script error) and failed requests
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("requestfailed", lambda r: page.problems.append(f"{r.url}: {r.failure}"))
    yield page
    context.close()


def test_upload_a_clip_and_see_the_answer(server, page, content4, content4_rows):
    row = pick_clips(content4_rows, "test", 1)[2]
    clip = content4 / row["path"]
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_have_text("What kind of video is it?")
    expect(page.locator("#submit")).to_be_disabled()
    page.set_input_files("#video", str(clip))
    expect(page.locator("#chosen")).to_contain_text(clip.name)
    page.click("#submit")
    expect(page.locator("#result")).to_be_visible(timeout=120_000)
    label = page.locator("#label").inner_text()
    assert label in {"Animation", "Flat Content", "Gaming", "Natural Content"}
    expect(page.locator("#bars .bar-row")).to_have_count(4)
    assert page.locator("#bars .bar-row.winner .bar-label").inner_text() == label
    expect(page.locator("#members tbody tr")).to_have_count(3)
    expect(page.locator("#agreement")).to_contain_text("of 3 members agree")
    expect(page.locator("#strip figure")).to_have_count(16)
    img = page.locator("#strip figure img").first
    expect(img).to_have_js_property("complete", True)
    w, h = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    # The thumbnail is the whole frame as the model saw it, at the video's aspect, 112 px on the long side.
    assert max(w, h) == 112 and abs(w / h - int(row["width"]) / int(row["height"])) < 0.05, (w, h)
    expect(page.locator("#attention-chart rect")).to_have_count(16)
    expect(page.locator("#video-meta")).to_contain_text(clip.name)
    assert page.locator("#confidence").inner_text().endswith("%")
    page.screenshot(path=str(ARTIFACTS / "upload_result.png"), full_page=True)
    assert not page.problems, page.problems
    assert not any(server.upload_dir.iterdir())


def test_a_file_that_is_not_a_video_is_explained(server, page, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    page.goto(server.url + "/")
    page.set_input_files("#video", str(fake))
    page.click("#submit")
    expect(page.locator("#error")).to_be_visible(timeout=60_000)
    expect(page.locator("#error")).to_contain_text("notes.mp4: not a readable video")
    expect(page.locator("#result")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "upload_error.png"))


def test_dashboard(server, page):
    page.goto(server.url + "/dashboard/reviewed")
    expect(page.locator("h1")).to_have_text("Model dashboard")
    expect(page.locator("#systems tbody tr")).to_have_count(5)
    expect(page.locator("#confusion-counts")).to_be_visible()
    expect(page.locator("#per-class tbody tr")).to_have_count(4)
    images = page.locator("img")
    assert images.count() >= 5
    for i in range(images.count()):  # every plot loaded
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), images.nth(i).get_attribute("src")
    page.click("text=ensemble + TTA")
    expect(page.locator("h2", has_text="ensemble + TTA: confusion matrix")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert not page.problems, page.problems


def test_timeline_band_and_why(server, page, two_class_video):
    """Upload with a timeline every 2 s: the band shows one lane per class along the duration; then
    "Why?" shows each explained frame beside its Grad-CAM overlay, and Grad-CAM++ on request."""
    path, _ = two_class_video
    page.goto(server.url + "/")
    page.set_input_files("#video", str(path))
    page.check("#timeline-interval")
    page.fill("#interval", "2")
    page.click("#submit")
    expect(page.locator("#result")).to_be_visible(timeout=180_000)
    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    expect(timeline.locator(".lane-track.band .seg")).to_have_count(6)  # 12 s in windows of 2 s
    expect(timeline.locator(".lane-track[data-class]")).to_have_count(4)  # a lane per class
    expect(timeline.locator(".legend .key")).to_have_count(4)
    expect(timeline.locator(".timeline-aggregate")).to_contain_text("Whole video:")
    # One answer per page: the whole-video row says what the answer at the top says.
    answer = page.locator("#label").text_content().strip() + ", " + page.locator("#confidence").text_content().strip()
    assert timeline.locator(".timeline-aggregate").text_content().startswith(f"Whole video: {answer} (the answer above)")
    expect(timeline.locator(".timeline-mode")).to_contain_text("Every 2.0 s: 6 windows")
    first = timeline.locator(".lane-track.band .seg").first
    assert first.get_attribute("title").startswith("0.0 s–2.0 s: ")
    width = page.evaluate("() => document.querySelector('#timeline .lane-track.band').getBoundingClientRect().width")
    last = timeline.locator(".lane-track.band .seg").last.bounding_box()
    band = timeline.locator(".lane-track.band").bounding_box()
    assert last["x"] + last["width"] == pytest.approx(band["x"] + width, abs=2)  # the band spans the duration
    expect(page.locator("#attention-axis .tick").first).to_have_text("0 s")
    expect(page.locator("#attention-chart rect")).to_have_count(16)
    timeline.scroll_into_view_if_needed()
    timeline.screenshot(path=str(ARTIFACTS / "timeline.png"))

    page.click("#why-button")
    expect(page.locator("#why-text")).to_be_visible()  # progress while the server works
    expect(page.locator("#why-frames figure")).to_have_count(4, timeout=180_000)
    expect(page.locator("#why-summary")).to_contain_text("Grad-CAM for")
    for img in page.locator("#why-frames img").all():
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => i.naturalWidth") >= 112
    box = page.locator("#why-frames .crop .box").first
    assert box.bounding_box()["width"] > 0  # the saliency box is drawn on the crop too
    expect(page.locator("#attention-chart rect.explained")).to_have_count(4)
    expect(page.locator("#why-frames figcaption").first).to_contain_text("attention")
    page.locator("#why").screenshot(path=str(ARTIFACTS / "why.png"))

    page.click("text=Grad-CAM++")
    page.select_option("#why-k", "2")
    page.click("#why-button")
    expect(page.locator("#why-frames figure")).to_have_count(2, timeout=180_000)
    expect(page.locator("#why-summary")).to_contain_text("Grad-CAM++ for")
    assert not page.problems, page.problems
    assert not any(server.upload_dir.iterdir())


def test_segment_picker_on_the_result(server, page, two_class_video):
    """The result says which span it is about; its picker classifies another span of the same file,
    and a span outside the video is explained, not crashed on."""
    path, _ = two_class_video
    page.goto(server.url + "/")
    page.set_input_files("#video", str(path))
    page.click("#submit")
    expect(page.locator("#result")).to_be_visible(timeout=180_000)
    expect(page.locator("#segment-note")).to_have_text("This answer is about the whole 12.0 s video.")
    expect(page.locator("#pick-whole")).to_be_hidden()
    page.fill("#pick-start", "6")
    page.fill("#pick-end", "12")
    page.click("#pick-submit")
    expect(page.locator("#segment-note")).to_have_text("This answer is about 6.0 s–12.0 s of the 12.0 s video.",
                                                       timeout=180_000)
    expect(page.locator("#start")).to_have_value("6")  # the upload form says what was sent
    expect(page.locator("#strip figure")).to_have_count(16)
    page.screenshot(path=str(ARTIFACTS / "segment_picker.png"), full_page=True)
    page.click("#pick-whole")
    expect(page.locator("#segment-note")).to_have_text("This answer is about the whole 12.0 s video.",
                                                       timeout=180_000)
    page.fill("#pick-start", "30")
    page.fill("#pick-end", "")
    page.click("#pick-submit")
    expect(page.locator("#error")).to_contain_text("segment", timeout=60_000)
    page.fill("#start", "")  # the upload form keeps the last span: clear it for the whole video
    page.click("#submit")
    expect(page.locator("#result")).to_be_visible(timeout=180_000)
    expect(page.locator("#segment-note")).to_have_text("This answer is about the whole 12.0 s video.",
                                                       timeout=180_000)
    assert not page.problems, page.problems
    left = list(server.upload_dir.iterdir())
    assert not left, [(p.name, p.stat().st_size) for p in left]


def test_progress_bar_is_determinate_while_the_job_runs(server, page, two_class_video, tmp_path):
    """A 48-s video with a timeline every 0.5 s (60 windows): long enough to watch the bar fill
    from the job's own stage and progress, not an endless stripe."""
    import subprocess

    (ARTIFACTS / "progress.png").unlink(missing_ok=True)
    path, _ = two_class_video
    long = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "3", "-i", str(path), "-c", "copy", str(long)],
                   check=True)
    page.goto(server.url + "/")
    page.set_input_files("#video", str(long))
    page.check("#timeline-interval")
    page.fill("#interval", "0.5")
    page.click("#submit")
    seen = []
    for _ in range(600):  # until the answer shows (at most ~60 s)
        if page.locator("#result").is_visible():
            break
        text = page.locator("#progress-text").text_content() or ""
        value = page.locator("#progress-bar").get_attribute("value")
        if text.endswith("%") and not text.startswith("Uploading"):
            seen.append((text, value))
            if value is not None and 30 <= int(value) < 100 and not (ARTIFACTS / "progress.png").exists():
                page.screenshot(path=str(ARTIFACTS / "progress.png"), full_page=True)
        page.wait_for_timeout(100)
    expect(page.locator("#result")).to_be_visible(timeout=120_000)
    assert seen, "the bar never showed the job's progress"
    assert all(value is not None for _, value in seen)  # determinate: it has a value
    values = [int(v) for _, v in seen]
    assert values == sorted(values) and any(0 < v < 100 for v in values), seen
    assert any(t.startswith(("Decoding", "Classifying each window")) for t, _ in seen), seen
    assert not page.problems, page.problems
