#!/usr/bin/env python3
"""more4 / Flat_Content: screen recordings (terminal-tool demos made with charmbracelet/vhs, a terminal
slide deck, Textual TUI apps, JupyterLab and Voila in a browser) inside GitHub repositories brought with the
search tool's `fetch`.
Usage: flat_fetched.py KEY GITDIR   (keys: vhs slides textual voila jupyterlab)
Repositories: charmbracelet/vhs, maaslalani/slides, Textualize/textual, voila-dashboards/voila,
jupyterlab/jupyterlab.  (GITDIR = the fetched snapshot's git directory, no work tree; files are read with
`git --git-dir=GITDIR show COMMIT:path` at the commits pinned below.) Clips go to
datasets/more4/fetched/Flat_Content/ (NOT committed: fetched material); their rows replace this source's rows
in datasets/more4/parts/Flat_Content.csv. Needs ffmpeg/ffprobe.
charmbracelet/vhs is pinned at 1f05339 (Oct 2022), the last commit whose example GIFs are still stored in
git: later commits keep them in Git LFS, which snapshots lack."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetched_lib import run

LABEL = "Flat_Content"
# items: (path in repo, name, [(start, dur), ...], extra_vf, short side cap, fps)
SOURCES = {
    "vhs": dict(repo="charmbracelet/vhs", commit="1f053396943dd86a00e477cd9072c0e26f2f51a3",
        license="MIT (repository)", slug="vhs-examples",
        what="VHS-rendered terminal demo GIFs: typing demo, gum pager and table, jqp JSON viewer, Glow markdown browser, gh issue",
        notes="terminal tool demo rendered by vhs (not an xterm); GIF converted to constant frame rate",
        items=[("examples/demo.gif", "demo", [(0.5, 8.5)], None, 360, None),
               ("examples/gum/pager.gif", "gum-pager", [(0, None)], None, 360, None),
               ("examples/gum/table.gif", "gum-table", [(0.2, 9.8)], None, 360, None),
               ("examples/jqp/jqp.gif", "jqp", [(0, None)], None, 360, None),
               ("examples/glow/vhs-glow.gif", "glow", [(1, 10)], None, 360, None),
               ("examples/gh-cli/gh-issue.gif", "gh-issue", [(0, None)], None, 360, None)]),
    "slides": dict(repo="maaslalani/slides", commit="c6eea3330053045cede8d65ee1086fb5d4db6c43",
        license="MIT (repository)", slug="slides-deck",
        what="slides, a terminal presentation tool: its demo deck paged slide by slide (assets/slides-1.gif)",
        notes="slide deck in a terminal window, one slide per 4 s; GIF (0.25 fps) converted to 10 fps",
        items=[("assets/slides-1.gif", "deck", [(0, 8), (8, 8), (16, 8)], None, 360, 10)]),
    "textual": dict(repo="Textualize/textual", commit="1d99508b928a771b51e1a527319c6b87dcff9e05",
        license="MIT (repository)", slug="textual-blog",
        what="Textual TUI apps from the docs blog: colour changer, file manager, code viewer, REPL autocomplete, text area themes, tabs",
        notes="terminal UI screen recordings (GIF/MP4 in docs/blog/images); GIFs converted to constant frame rate",
        items=[("docs/blog/images/2022-12-07-responsive-app-background-task/responsive-demo.gif", "responsive", [(0, 8), (8.2, 8)], None, 360, None),
               ("docs/blog/images/darren-year-in-review/filemanager-trimmed.gif", "filemanager", [(0, None)], None, 360, None),
               ("docs/blog/images/darren-year-in-review/shira-demo.gif", "shira", [(0, 10)], None, 360, None),
               ("docs/blog/images/text-area-learnings/text-area-theme-cycle.gif", "textarea-themes", [(0, None)], None, 360, None),
               ("docs/blog/images/darren-year-in-review/tabs-textual-video-demo.mp4", "tabs", [(0, 9)], None, 360, None)]),
    "voila": dict(repo="voila-dashboards/voila", commit="886b74cd78d6ee19b450abb93a7fdaddab4f076d",
        license="BSD-3-Clause (repository)", slug="voila-readme",
        what="Voila README screencasts: notebook in JupyterLab, terminal, dashboard in a browser (widgets, bqplot chart, tables)",
        notes="desktop screencast GIF (10 fps), converted to constant frame rate",
        items=[("voila-basics.gif", "basics", [(3, 9), (20, 9)], None, 360, None),
               ("voila-bqplot.gif", "bqplot", [(2, 9)], None, 360, None),
               ("voila-sources.gif", "sources", [(2, 9)], None, 360, None)]),
    "jupyterlab": dict(repo="jupyterlab/jupyterlab", commit="6ef5a17ad831be80c3e63911b77fa9f8acfcbf50",
        license="BSD-3-Clause (repository)", slug="jupyterlab-docs",
        what="JupyterLab user-guide screencasts: debugger stepping, table-of-contents panel and settings",
        notes="web IDE screencast GIF from docs/source/user/images, converted to constant frame rate",
        items=[("docs/source/user/images/debugger/step.gif", "debugger-step", [(2, 9)], None, 360, None),
               ("docs/source/user/images/toc/runcell.gif", "toc-runcell", [(2, 9)], None, 360, None),
               ("docs/source/user/images/toc/includeOutput.gif", "toc-output", [(2, 9)], None, 360, None),
               ("docs/source/user/images/toc/syncCollapseState.gif", "toc-collapse", [(2, 9)], None, 360, None)]),
}

if __name__ == "__main__":
    run(LABEL, SOURCES, sys.argv[1], sys.argv[2])
