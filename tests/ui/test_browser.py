"""The dashboard in a real headless Chromium (Debian's, driven by Playwright).

`./dev test` installs Debian's chromium with apt when it is missing; Playwright never
downloads a browser here. Screenshots go to test-artifacts/ui/ (not committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ferry.devserver import LocalS3Server
from ferry.runs.ledger import Ledger
from ferry.storage.s3 import S3Options
from tests.conftest import REPO
from tests.ui.conftest import serve
from tests.ui.runs_data import WrittenRun

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "ui"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The first two run colours of the charts (ferry.js): proof that series, not just axes, drew.
RUN_COLOURS = [(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)]
COUNT_COLOUR = """([selector, rgb]) => {
  const canvas = document.querySelector(selector);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (Math.abs(pixels[i] - rgb[0]) + Math.abs(pixels[i + 1] - rgb[1]) +
        Math.abs(pixels[i + 2] - rgb[2]) < 60 && pixels[i + 3] > 200) n++;
  }
  return n;
}"""


class Browser:
    """A Chromium context with a fresh profile that records every request it makes."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.requests: list[str] = []
        self.problems: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))

    def page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        return page

    def foreign_requests(self, base: str) -> list[str]:
        local = urlsplit(base).netloc
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != local
        ]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium "
            "(apt-get install -y chromium, as root)."
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield Browser(context)
        finally:
            context.close()


def test_filter_select_two_and_compare(
    browser: Browser, served: tuple[str, int], filled: tuple[Path, dict[str, Any]]
) -> None:
    url, _ = served
    runs = filled[1]["runs"]
    wanted = len([r for r in runs if r["rate"] >= 0.01 and r["depth"] < 6])
    page = browser.page()
    page.goto(f"{url}/")
    page.get_by_role("link", name="Churn Model").click()
    page.wait_for_selector("table.experiments tbody tr")
    assert page.locator("#status").inner_text() == "1\u201312 of 12"

    page.fill("#filter-where", "learning_rate >= 0.01 and max_depth < 6")
    page.press("#filter-where", "Enter")
    page.locator("#status", has_text="filtered").wait_for()
    status = f"1\u2013{wanted} of {wanted} (filtered from 12)"
    assert 2 <= wanted < 12 and page.locator("#status").inner_text() == status
    rows = page.locator("table.experiments tbody tr")
    for index in (0, 1):
        rows.nth(index).locator("input[type=checkbox]").check()
    chosen = [rows.nth(i).get_attribute("data-id") for i in (0, 1)]
    page.screenshot(path=str(ARTIFACTS / "experiments.png"), full_page=True)

    page.click("#compare")
    page.wait_for_selector(".chart[data-metric=loss][data-drawn='1']")
    page.wait_for_selector(".chart[data-metric=accuracy][data-drawn='1']")
    page.locator("#parallel").scroll_into_view_if_needed()  # drawn once shown
    page.wait_for_selector("#parallel[data-drawn='1']")
    assert page.url.split("ids=")[1].split("&")[0].split("%2C") == chosen
    for colour in RUN_COLOURS:
        drawn = page.evaluate(COUNT_COLOUR, [".chart[data-metric=loss] canvas", list(colour)])
        assert drawn > 200, f"run colour {colour} has {drawn} pixels on the loss chart"
    assert page.locator("table.params tr.diff").count() >= 1  # the two differ somewhere
    page.screenshot(path=str(ARTIFACTS / "compare-full.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "compare.png"))  # the README's picture

    assert browser.foreign_requests(url) == []
    assert browser.problems == []


def test_experiment_detail_and_models(browser: Browser, served: tuple[str, int]) -> None:
    url, _ = served
    page = browser.page()
    page.goto(f"{url}/experiments?root=0&project=Churn+Model&sort=name&desc=0")
    page.get_by_role("link", name="gbm-00").click()
    page.wait_for_selector(".chart[data-metric=loss][data-drawn='1']")
    assert page.locator("table.bars tr").count() == 3  # feature importances
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_bytes() == b"weights \x00\x01"
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("table.frame")
    assert page.locator("table.frame tbody tr").count() == 3
    page.screenshot(path=str(ARTIFACTS / "experiment.png"), full_page=True)

    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name="churn").click()
    page.wait_for_selector("table.versions")
    assert "production" in page.locator("table.versions tbody tr").first.inner_text()
    page.get_by_role("button", name="Metadata").first.click()
    page.wait_for_selector("table.versions pre")
    assert '"auc": 0.88' in page.locator("table.versions pre").inner_text()
    page.screenshot(path=str(ARTIFACTS / "models.png"), full_page=True)

    assert browser.foreign_requests(url) == []
    assert browser.problems == []


def test_runs_page_follows_a_live_run_until_it_is_torn_down(
    browser: Browser,
    s3_server: LocalS3Server,
    bucket: str,
    s3_options: S3Options,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.url)  # as the user of the runs has it
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ledger = Ledger()  # the one `ferry runs ls` reads, as `ferry ui` does
    earlier = WrittenRun(
        ledger,
        f"s3://{bucket}",
        s3_options,
        tmp_path / "earlier",
        name="baseline",
        started=datetime.now(UTC) - timedelta(hours=3),
    ).launched()
    earlier.enter("train")
    earlier.finish()
    earlier.tear_down()
    run = WrittenRun(ledger, f"s3://{bucket}", s3_options, tmp_path / "live").launched()
    run.enter("boot")
    for i in range(12):
        if i == 2:
            run.enter("train")
        run.beat(cpu=30 + 5 * i, mem=20 + i, epoch=i)
        time.sleep(0.05)
    run.log("".join(f"epoch {i} accuracy 0.{70 + i}\n" for i in range(1, 4)))

    with serve() as (url, _):  # no root, no model store: the runs are what it shows
        page = browser.page()
        page.goto(f"{url}/runs")
        rows = page.locator("table.runs tbody tr")
        rows.first.wait_for()
        assert rows.count() == 2
        assert "running" in rows.first.inner_text() and "succeeded" in rows.nth(1).inner_text()
        page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)
        page.get_by_role("link", name=run.run_id).click()
        page.wait_for_selector("body[data-run-state=running]")
        page.goto(f"{url}/run?id={run.run_id}&refresh=0.3")  # the same page, refreshed faster
        page.wait_for_selector(".chart[data-chart^=CPU][data-drawn='1']")
        cpu = [".chart[data-chart^=CPU] canvas", list(RUN_COLOURS[0])]
        drawn = page.evaluate(COUNT_COLOUR, cpu)
        assert drawn > 100, f"the CPU line has {drawn} pixels"
        assert "epoch 3 accuracy" in page.locator("#log").inner_text()
        assert " ago (20" in page.locator("dl.meta").first.inner_text()  # heartbeat age, time
        assert "[object" not in page.locator("main").inner_text()
        assert page.locator(".timeline tr[data-phase=train] .bar.open").count() == 1
        page.screenshot(path=str(ARTIFACTS / "run-live.png"), full_page=True)

        run.log("epoch 4 accuracy 0.91\n")  # the page refreshes while the run is live
        page.locator("#log", has_text="epoch 4 accuracy").wait_for()
        run.enter("push")
        run.finish()
        run.tear_down()
        page.wait_for_selector("body[data-done='1']")
        assert page.locator("#left").inner_text().startswith("0 cost-generating resources left")
        page.screenshot(path=str(ARTIFACTS / "run.png"), full_page=True)
        polls = page.evaluate("window.ferry.polls")
        page.wait_for_timeout(1000)  # more than three refresh periods
        assert page.evaluate("window.ferry.polls") == polls  # torn down: no more requests

    assert browser.foreign_requests(url) == []
    assert browser.problems == []
