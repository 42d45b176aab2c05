"""The report as a browser shows it: headless Chromium renders it without errors."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from tests.reports.test_report import SECTION_HEADINGS as HEADINGS

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
            *args, page.as_uri(),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def console_messages(stderr: str) -> list[str]:
    # Chromium logs a page's console output as "...:INFO:CONSOLE:1] "message", source: ...".
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


@pytest.fixture(scope="module")
def report(fixture_report_again):
    return fixture_report_again


def test_dom_has_every_section_and_no_console_errors(report, tmp_path):
    result = chromium(report, tmp_path / "profile", "--dump-dom")

    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in dom
    assert dom.count("data:image/png;base64,") == 12  # failure handling too
    assert "<script" not in dom.lower()
    assert console_messages(result.stderr) == []


def test_screenshot_renders(report, tmp_path):
    shot = tmp_path / "shot.png"

    result = chromium(report, tmp_path / "profile", f"--screenshot={shot}",
                      "--window-size=1280,4000")  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 4000)
    assert len(data) > 100_000  # a page of plots, not a blank one
    assert console_messages(result.stderr) == []
