"""The dashboard through Flask's test client, on a bundle whose report was written by the real
evaluation code: every number shown must be the stored one."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from tests.conftest import csrf_token


class Tables(HTMLParser):
    """Cells (text) of every <table id=...> of a page, row by row."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


@pytest.fixture(scope="module")
def report(reviewed_bundle):
    return json.loads((reviewed_bundle / "report" / "report.json").read_text())


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_default_is_the_loaded_bundle(app):
    html = page(app.test_client(), "/dashboard")
    assert "wiring" in html and "(serving)" in html and "reviewed" in html  # every bundle is offered
    assert "No stored evaluation on the test split" in html


def test_systems_table_shows_the_stored_numbers(app, report):
    html = page(app.test_client(), "/dashboard/reviewed")
    rows = Tables(html).tables["systems"]
    header, body = rows[0], rows[1:]
    assert header[:3] == ["system", "accuracy", "macro-F1"]
    assert [r[0] for r in body] == ["member_0", "member_1", "member_2", "ensemble", "ensemble + TTA"]
    for row, name in zip(body, ["member_0", "member_1", "member_2", "ensemble", "ensemble_tta"], strict=True):
        m = report["systems"][name]
        assert row[1] == f"{m['accuracy']:.3f}" and row[2] == f"{m['f1_macro']:.3f}"
        assert row[8].startswith(f"{m['ece']:.3f}")
    best = max(s["accuracy"] for s in report["systems"].values())
    assert f'<td class="best">{best:.3f}' in html


@pytest.mark.parametrize("system", ["ensemble", "ensemble_tta", "member_1"])
def test_confusion_matrix_and_per_class_table(app, report, system):
    html = page(app.test_client(), f"/dashboard/reviewed?system={system}")
    tables = Tables(html).tables
    m = report["systems"][system]
    counts = [[int(c) for c in row[1:]] for row in tables["confusion-counts"][1:]]
    assert counts == m["confusion_matrix"]
    shares = [row[1:] for row in tables["confusion-normalised"][1:]]
    for row, cm_row in zip(shares, m["confusion_matrix"], strict=True):
        assert row == [f"{100 * c / sum(cm_row):.1f}%" for c in cm_row]
    per_class = {row[0]: row[1:] for row in tables["per-class"][1:]}
    for c in report["classes"]:
        got, want = per_class[c.replace("_", " ")], m["per_class"][c]
        assert got[:4] == [f"{want['precision']:.3f}", f"{want['recall']:.3f}", f"{want['f1']:.3f}",
                           str(want["support"])]
    curves = "ensemble_pr.png" if system == "ensemble" else "ensemble_tta_pr.png"
    assert (curves in html) == (system != "member_1")


def test_plots_and_training_curves_are_served(app, report):
    client = app.test_client()
    html = page(client, "/dashboard/reviewed")
    images = re.findall(r'<img src="([^"]+)"', html)
    assert any(src.endswith("training/member_0.png") for src in images)
    assert any(src.endswith("ensemble_reliability.png") for src in images)
    assert any(src.endswith("ensemble_roc.png") for src in images)
    for src in images:
        response = client.get(src)
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_dataset_and_mistakes(app, report, reviewed_bundle):
    html = page(app.test_client(), "/dashboard/reviewed")
    tables = Tables(html).tables
    assert [r[0] for r in tables["members-table"][1:]] == ["member_0", "member_1", "member_2"]
    assert "far below the members&#39; median" in html or "far below the members' median" in html
    dataset = {row[0]: row[1:] for row in tables["dataset"][1:]}
    assert dataset["train"] == ["9", "9", "9", "9", "36"] and dataset["test"][-1] == "20"
    wrong = [p for p in report["predictions"] if p["ensemble"] != p["label"]]
    assert len(tables.get("wrong", [[]])[1:]) == len(wrong)
    curves = html[html.index('id="training-curves"'):html.index("</svg>", html.index('id="training-curves"'))]
    assert curves.count("<polyline") == 3 and curves.count("<circle") == 3 * 4  # members x epochs
    assert "member_2 epoch 3: val macro-F1 0.700" in curves


def test_at_a_glance(app, report):
    html = page(app.test_client(), "/dashboard/reviewed?system=ensemble")
    glance = html[html.index('id="glance"'):html.index("</section>", html.index('id="glance"'))]
    m = report["systems"]["ensemble"]
    assert f"{m['accuracy']:.1%}" in glance and f"{m['f1_macro']:.3f}" in glance and f"{m['ece']:.3f}" in glance
    weakest = min(report["classes"], key=lambda c: m["per_class"][c]["f1"])
    assert weakest.replace("_", " ") in glance


def test_the_studies_behind_the_settings_are_named(app):
    html = page(app.test_client(), "/dashboard/reviewed")
    studies = html[html.index('id="studies"'):html.index("</ul>", html.index('id="studies"'))]
    assert "sampler_study" in studies and "which sampler?" in studies
    assert "balance = source; source_power = 0.0" in " ".join(studies.split())
    assert 'id="studies"' not in page(app.test_client(), "/dashboard/wiring")  # nothing attached: no list


def test_held_out_source_scores_and_the_uncertain_rule_are_shown(app):
    html = page(app.test_client(), "/dashboard/reviewed")
    rows = Tables(html).tables["source-cv"]
    assert rows[0] == ["system", "accuracy", "macro-F1", "log loss", "ECE"]
    assert ["ensemble", "0.800", "0.791", "0.600", "0.050"] in rows and len(rows) == 3  # no row for the protocol
    rule = " ".join(html[html.index('id="uncertain-rule"'):].split("</dd>")[0].split())
    assert "confidence &lt; 0.65" in rule and "50% of the members" in rule and "right 90%" in rule
    assert "flagged uncertain on 25.0%" in html
    assert 'id="source-cv"' not in page(app.test_client(), "/dashboard/wiring")


def test_val_split(app, reviewed_bundle):
    val = json.loads((reviewed_bundle / "report" / "val" / "report.json").read_text())
    html = page(app.test_client(), "/dashboard/reviewed?split=val")
    assert f"{val['n']} videos" in html and val["n"] == 12
    counts = [[int(c) for c in row[1:]] for row in Tables(html).tables["confusion-counts"][1:]]
    assert counts == val["systems"]["ensemble"]["confusion_matrix"]
    assert "val/ensemble_pr.png" in html


@pytest.mark.parametrize("url,status", [("/dashboard/nothing", 404), ("/dashboard/reviewed?split=train", 400),
                                        ("/dashboard/reviewed/files/../bundle.json", 404),
                                        ("/dashboard/reviewed/files/report.json", 404),
                                        ("/dashboard/reviewed/files/..%2Fbundle.json", 404),
                                        ("/dashboard/reviewed/files/nothing.png", 404)])
def test_bad_dashboard_urls(app, url, status):
    response = app.test_client().get(url, headers={"Accept": "text/html"})
    assert response.status_code == status and response.mimetype == "text/html"


def test_dashboard_login(app, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_TOKEN", "board-token")
    monkeypatch.setitem(app.config, "API_TOKEN", "api-token")
    client = app.test_client()
    response = client.get("/dashboard/reviewed")
    assert response.status_code == 302 and "/dashboard/login?next=" in response.headers["Location"]
    assert client.get("/dashboard/reviewed/files/ensemble_pr.png").status_code == 302
    assert client.get("/dashboard", headers={"Authorization": "Bearer api-token"}).status_code == 302
    login = page(client, "/dashboard/login?next=/dashboard/reviewed")
    assert 'type="password"' in login
    assert client.post("/dashboard/login", data={"token": "board-token"}).status_code == 400  # no CSRF token
    token = csrf_token(client)
    wrong = client.post("/dashboard/login", data={"token": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    ok = client.post("/dashboard/login?next=/dashboard/reviewed", data={"token": "board-token", "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/dashboard/reviewed"
    assert "Systems on the test split" in page(client, "/dashboard/reviewed")
    client.post("/dashboard/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/dashboard").status_code == 302


def test_login_redirects_only_within_this_server(app, monkeypatch):
    monkeypatch.setitem(app.config, "DASHBOARD_TOKEN", "board-token")
    client = app.test_client()
    token = csrf_token(client)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post("/dashboard/login", query_string={"next": target},
                               data={"token": "board-token", "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
        token = csrf_token(client)


def test_video_level_table_beside_the_clip_level_one(make_web_app, segmented_bundle):
    """A report evaluated on segments shows clip-level and video-level systems, each with its n."""
    report = json.loads((segmented_bundle / "report" / "report.json").read_text())
    video = report["video_level"]
    app = make_web_app(MODELS_DIR=str(segmented_bundle.parent))
    html = page(app.test_client(), "/dashboard/segmented?system=ensemble")
    tables = Tables(html).tables
    assert f"Clip level <small class=\"muted\">n = {report['n']} clips (segments)" in html
    assert f"Video level <small class=\"muted\">n = {video['n']} videos" in html
    assert str(escape(video["aggregation"])) in html
    for table, systems in (("systems", report["systems"]), ("systems-video", video["systems"])):
        rows = {row[0]: row[1:] for row in tables[table][1:]}
        assert list(rows) == ["member_0", "member_1", "member_2", "ensemble", "ensemble + TTA"]
        for name, m in systems.items():
            row = rows[name.replace("_tta", " + TTA")]
            assert row[0] == f"{m['accuracy']:.3f}" and row[1] == f"{m['f1_macro']:.3f}"
            assert row[7].startswith(f"{m['ece']:.3f}")
    assert tables["systems"] != tables["systems-video"]  # two evaluations are shown, not one twice
    glance = html[html.index('id="glance"'):html.index("</section>", html.index('id="glance"'))]
    assert f"video-level accuracy ({video['n']} videos)" in glance
    assert f"{video['systems']['ensemble']['accuracy']:.1%}" in glance


def test_clip_only_report_has_no_video_level(app, report):
    assert report["level"] == "clip" and report["video_level"] is None
    html = page(app.test_client(), "/dashboard/reviewed")
    assert "systems-video" not in html and "Video level" not in html
    assert f"{report['n']} videos" in html
