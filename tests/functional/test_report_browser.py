"""report.html as a person meets it: opened from `file://` in Debian's chromium, driven by
Playwright (`executable_path`: no browser is ever downloaded). One browser for the module."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from ..conftest import demo_copy, only_run
from ..fixtures.synthetic_run import write_run
from ..cli import gauntlet
from .test_report import SCRIPT, hostile_project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAPTOP, PHONE = {"width": 1366, "height": 800}, {"width": 390, "height": 800}



@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: `make test` installs it (scripts/system-packages)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.fetched = []
    page.on("request", lambda request: page.fetched.append(request.url))
    yield page
    context.close()


def open_report(page, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo_ports_module) -> Path:
    """The demo's config run once for the module, on ports of its own."""
    work = tmp_path_factory.mktemp("demo")
    config = demo_copy(work / "cfg", demo_ports_module)
    proc = gauntlet("run", str(config), "--headless", "--out", str(work / "runs"), cwd=work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    return only_run(work / "runs")


@pytest.fixture(scope="module")
def demo_ports_module():
    from probes.stack._stack import port_taken

    from ..conftest import DEMO_PORTS, free_ports

    ports = dict(zip(DEMO_PORTS, free_ports(len(DEMO_PORTS)), strict=True))
    yield ports
    assert not [p for p in ports.values() if port_taken(p)], "the demo left a service running"


def test_the_demos_page_shows_its_verdict_and_the_schema_class_side_by_side(page, demo_run):
    open_report(page, demo_run / "report.html")
    assert page.inner_text("#verdict-badge") == "SHIP_WITH_KNOWN_GAP"
    schema = page.locator("details.cls", has_text="$.Schema absent")
    assert schema.count() == 1
    # The paths its description quotes are code, as in the verdict's Markdown, with no backtick shown.
    assert schema.locator("summary code").all_inner_texts() == ["$.Field", "$.Kind", "$.Reason", "$.Schema"]
    assert "`" not in page.inner_text("#reasons") + schema.locator("summary").inner_text()
    example = schema.locator("table.sbs")
    assert not example.is_visible()  # closed until asked for
    schema.locator("summary").click()
    assert example.is_visible()
    # The reference's `Schema` object on the left, beside a gap or the candidate's own fields.
    row = example.locator("tr.d", has_text='"Schema"').first
    assert row.locator("td.l").inner_text().strip().startswith('"Schema"')
    assert row.locator("td.m").inner_text() == "◆"  # a shape difference, marked
    right = example.locator("td.r").all_inner_texts()
    assert any('"Kind"' in text for text in right) and not any('"Schema"' in text for text in right)
    assert page.locator("#smokes").inner_text().count("PASS") >= 21
    assert page.errors == [] and all(url.startswith("file://") for url in page.fetched)
    page.screenshot(path=str(demo_run / "laptop.png"))
    page.set_viewport_size(PHONE)
    assert fits_the_width(page)
    page.screenshot(path=str(demo_run / "phone.png"))


def test_a_finding_leads_to_its_hunk_in_the_diff(page, demo_run):
    open_report(page, demo_run / "report.html")
    finding = page.locator("#findings tr.finding", has_text="crates/validatord/src/errors.rs:195")
    link = finding.locator("a.to-hunk")
    where = link.inner_text()
    link.click()
    target = page.locator(":target")
    assert target.count() == 1
    assert target.is_visible() and target.evaluate("row => row.closest('details').open")
    # The row the finding names: line 195 of the new side, in its file's hunk, marked.
    assert target.locator("td.n").nth(1).inner_text() == where.rsplit(":", 1)[1]
    hunk = page.locator(".hunk", has=target)
    assert hunk.locator(".hh").inner_text().startswith("crates/validatord/src/errors.rs")
    assert "the Limit variant is not covered by the wire-format test" in hunk.inner_text()
    assert "hit" in target.get_attribute("class")


def test_a_20000_case_run_opens_at_once_and_shows_a_class_example(page, tmp_path):
    run = write_run(tmp_path / "run", 20_000, record=True)
    assert gauntlet("report", str(run)).returncode == 0
    start = time.monotonic()
    open_report(page, run / "report.html")
    assert time.monotonic() - start < 2
    classes = page.locator("details.cls")
    assert classes.count() == 5
    numbers = classes.filter(has_text="cls:numtype00002")
    assert "1,576 cases" in numbers.locator("summary").inner_text()
    numbers.locator("summary").click()
    row = numbers.locator("table.sbs tr.d").first
    assert row.locator("td.l").inner_text().strip() == '"count": 3,'
    assert row.locator("td.r").inner_text().strip() == '"count": "3",'
    assert "k-type" in row.get_attribute("class")
    numbers.locator("table.differences a").first.click()  # a difference leads to its row
    assert page.locator(":target").inner_text() == row.inner_text()
    assert "and 1,566 more" in numbers.inner_text()  # example cases named, not every case
    page.set_viewport_size(PHONE)
    assert fits_the_width(page)


def test_what_a_run_recorded_shows_as_text_and_never_runs(page, tmp_path):
    config = hostile_project(tmp_path)
    assert gauntlet("run", str(config), "--headless", cwd=tmp_path).returncode == 1
    run = only_run(tmp_path / "out")
    open_report(page, run / "report.html")
    assert page.evaluate("window.__ran") is None
    assert page.errors == []
    finding = page.locator("#findings tr.finding").first
    assert f"writes {SCRIPT} into the page" in finding.inner_text()
    finding.locator("a.to-hunk").click()
    assert SCRIPT in page.locator(":target").inner_text()  # the diff's own line, as text
    smoke = page.locator("#smokes details", has_text="last output")
    smoke.locator("summary").click()
    assert SCRIPT in smoke.inner_text()
    assert page.title().endswith("hostile <b>name</b>")
    assert page.evaluate("window.__ran") is None and all(url.startswith("file://") for url in page.fetched)
