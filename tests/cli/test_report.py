"""``nas-search report`` in a real browser: headless Chromium (Debian's ``chromium``, which
``.ci/setup`` installs) loads the file with the network shut, renders the DOM and takes a
screenshot; the plots must have drawn their points and the key text must be there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # nothing leaves
]  # fmt: skip


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_report_writes_one_file_per_run_by_default(cli, nb201_runs, tmp_path):
    result = cli("report", nb201_runs[0], "--no-importance")
    assert result.exit_code == 0, result.output
    assert (nb201_runs[0] / "report.html").is_file()
    bad = cli("report", nb201_runs[0], "--out", tmp_path / "report.txt")
    assert bad.exit_code == 2 and "--out: must end in .html" in bad.output


def test_report_refuses_runs_of_other_objectives(cli, nb201_runs, write_space, tmp_path):
    write_space()
    toy = cli("run", "--space", "space.yaml", "--out", tmp_path / "toy", "-q")
    assert toy.exit_code == 0, toy.output
    result = cli("report", nb201_runs[0], tmp_path / "toy", "--out", tmp_path / "r.html")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "a report compares runs of the same objectives" in result.output


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed here (bash .ci/setup installs it where apt-get "
    "can reach the package archive)",
)
def test_the_report_renders_in_a_real_browser(cli, nb201_runs, tmp_path):
    from PIL import Image

    page = tmp_path / "report.html"
    result = cli("report", *nb201_runs, "--out", page)
    assert result.exit_code == 0, result.output
    url = page.resolve().as_uri()

    dom = _chromium(tmp_path, "--dump-dom", url).stdout
    for text in ("nas-search report: a vs b", "Pareto front: a", "Measured front",
                 "Hypervolume", "Predicted vs measured: b", "Parameter importance: a",
                 "normalized hypervolume", "lat_pixel3_ms", "nas-search"):  # fmt: skip
        assert text in dom, text
    # the figures are in the rendered DOM, with a point (and its hover title) per measurement
    assert dom.count("<svg") >= 5
    assert dom.count('<g class="point">') >= 2 * 30

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", url)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (2400, 1200)
    blank = (pixels > 245).all(axis=2)
    assert blank.mean() < 0.97, "the page rendered (almost) nothing"
    red = (abs(pixels - [214, 39, 40]).sum(axis=2) < 60).sum()  # tab:red: run a's front
    blue = (abs(pixels - [31, 119, 180]).sum(axis=2) < 60).sum()  # tab:blue: run b's front
    assert red > 200 and blue > 200, (red, blue)
