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
    clip = content4 / pick_clips(content4_rows, "test", 1)[2]["path"]
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
    expect(page.locator("#strip figure img").first).to_have_js_property("naturalWidth", 112)
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
