"""End to end: a report made by `process --report` from real photos, opened in headless Chromium (Debian
`chromium` + `chromium-driver`, driven by Selenium). Checks that every image loads, that the before/after toggle
and slider change what is shown, that pagination keeps 1,000 photos fast, and saves screenshots under tmp_path."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from exposure_batch.cli import main
from exposure_batch.pipeline.result import Result
from exposure_batch.report import ReportWriter
from exposure_batch.report.html import render_html
from tests.helpers import require_tool

pytestmark = pytest.mark.tool

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]

ALL_IMAGES_LOADED = """
const imgs = [...document.querySelectorAll('img')];
return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);"""


@pytest.fixture()
def browser(tmp_path):
    """A headless Chromium session with a fresh profile; browser console logs are kept."""
    chromium, chromedriver = require_tool("chromium"), require_tool("chromedriver")
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'chrome-profile'}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver, log_output=str(tmp_path / "chromedriver.log")), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, script: str, timeout: float = 20.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script))


def _shot(element) -> np.ndarray:
    """Element screenshot as (h, w, 3) int array."""
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(int)


def _load_all_lazy_images(driver) -> None:
    """Scroll every image into view (they are loading="lazy") and wait until each has loaded."""
    for img in driver.find_elements("css selector", "img"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
    driver.execute_script("window.scrollTo(0, 0);")
    try:
        _wait(driver, ALL_IMAGES_LOADED)
    except Exception:  # noqa: BLE001  (say which images are broken)
        broken = driver.execute_script(
            "return [...document.querySelectorAll('img')].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        pytest.fail(f"{len(broken)} image(s) did not load: {broken[:5]}")


def test_report_in_chromium(tmp_path, photo_dir, browser):
    rep = tmp_path / "rep"
    res = CliRunner().invoke(main, ["process", str(photo_dir), "-o", str(tmp_path / "out"), "--save-recipe",
                                    "--report", str(rep), "--no-progress"])
    assert res.exit_code == 1, res.output  # broken.jpg fails
    browser.get((rep / "index.html").as_uri())
    _wait(browser, "return document.querySelectorAll('article.card').length === 4")
    _load_all_lazy_images(browser)
    imgs = browser.find_elements("css selector", "img")
    assert len(imgs) == 3 * 3  # before, after, plots for each of the three good photos
    assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in imgs)

    failed = browser.find_element("css selector", "article.card.failed")
    assert "broken.jpg" in failed.text and failed.find_element("css selector", ".reason").text

    # the underexposed astronaut: the card whose edit is large enough to see (the report may order cards by review
    # priority, so pick it by name)
    card = next(c for c in browser.find_elements("css selector", "#grid article.card.done")
                if "astronaut_orientation6.jpg" in c.text)
    cmp = card.find_element("css selector", ".cmp")
    after_img = card.find_element("css selector", "img.after")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", cmp)
    shown_after = _shot(cmp)
    card.find_element("css selector", "button.toggle").click()
    assert card.get_attribute("data-showing") == "before"
    assert re.sub(r"\s|px", "", after_img.value_of_css_property("clip-path")) == "inset(0100%00)"
    shown_before = _shot(cmp)
    assert np.abs(shown_after - shown_before).mean() > 2.0, "the toggle did not change the picture"
    card.find_element("css selector", "button.toggle").click()  # and back
    np.testing.assert_allclose(_shot(cmp).mean(), shown_after.mean(), atol=0.5)

    browser.execute_script("const r = arguments[0]; r.value = 50; r.dispatchEvent(new Event('input', {bubbles: true}));",
                           card.find_element("css selector", "input[type=range]"))
    assert re.sub(r"\s|px", "", after_img.value_of_css_property("clip-path")) == "inset(050%00)"
    half = _shot(cmp)
    w = half.shape[1]
    assert np.abs(half[:, : w // 3] - shown_after[:, : w // 3]).mean() < 1.0  # left: still after
    assert np.abs(half[:, -w // 3:] - shown_before[:, -w // 3:]).mean() < 1.0  # right: before

    browser.find_element("id", "all-before").click()
    assert {c.get_attribute("data-showing") for c in browser.find_elements("css selector", "article.card.done")} == {"before"}
    browser.find_element("css selector", "[data-filter=failed]").click()
    assert [c.text.split("\n")[1] for c in browser.find_elements("css selector", "article.card")] == ["broken.jpg"]

    browser.find_element("css selector", "[data-filter=all]").click()
    browser.find_element("id", "all-after").click()
    assert browser.save_screenshot(str(tmp_path / "report.png"))
    with Image.open(tmp_path / "report.png") as im:
        assert im.size[0] >= 1000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_thousand_photos_paginate_fast(tmp_path, recipe, photo_lin, browser):
    """1,000 entries (sharing one set of real thumbnails): the first page loads about as fast as a 60-photo report
    and holds one page of cards; paging and filtering work."""
    rep = tmp_path / "rep"
    writer = ReportWriter(rep)
    proto = writer.add(Result(str(tmp_path / "proto.jpg"), "done", seconds=0.4, recipe=recipe), photo_lin)
    photos = []
    for i in range(1000):
        e = json.loads(json.dumps(proto))
        e.update(id=f"p{i}", name=f"IMG_{i:04d}.jpg", seconds=0.3 + (i % 7) / 10)
        if i % 100 == 99:
            e.update(status="failed", reason="truncated file", steps=None)
            e.pop("thumbs")
        photos.append(e)
    (rep / "index.html").write_text(render_html("1000 photos", photos, page_size=60), encoding="utf-8")
    (rep / "one_page.html").write_text(render_html("60 photos", photos[:60], page_size=60), encoding="utf-8")

    def load_ms(page: str) -> float:
        """Navigation start -> DOMContentLoaded (ms) of a report page, once its first cards are in the DOM."""
        browser.get((rep / page).as_uri())
        _wait(browser, "return document.querySelectorAll('article.card').length > 0")
        return browser.execute_script(
            "const n = performance.getEntriesByType('navigation')[0]; return n.domContentLoadedEventEnd - n.startTime;")

    # Paging keeps 1,000 photos (17 pages of data) close to the cost of one page: compared with a 60-photo report
    # loaded in the same browser (a baseline measured in the same run, not a wall-clock bound). Measured 3.5x
    # (869 / 250 ms, loaded 2-core machine); the bound is twice that, well below the 17x of rendering every card.
    baseline = min(load_ms("one_page.html") for _ in range(2))
    thousand = min(load_ms("index.html") for _ in range(2))
    print(f"DOMContentLoaded: 1000 photos {thousand:.0f} ms, 60 photos {baseline:.0f} ms")
    assert thousand < 7.0 * baseline, (thousand, baseline)
    assert browser.execute_script("return document.querySelectorAll('article.card').length") == 60
    assert browser.execute_script("return document.querySelectorAll('img').length") <= 3 * 60  # one page of images
    assert browser.find_element("id", "pageinfo").text == "page 1 / 17"
    _load_all_lazy_images(browser)

    first = browser.find_element("css selector", "article.card h2").text
    browser.find_element("xpath", "//button[contains(., 'next')]").click()
    assert browser.find_element("id", "pageinfo").text == "page 2 / 17"
    assert browser.find_element("css selector", "article.card h2").text != first
    browser.find_element("css selector", "[data-filter=failed]").click()
    assert browser.execute_script("return document.querySelectorAll('article.card.failed').length") == 10
    browser.find_element("css selector", "[data-filter=all]").click()
    from selenium.webdriver.support.ui import Select  # noqa: PLC0415

    Select(browser.find_element("id", "sort")).select_by_value("slowest")
    times = [float(t.text.split()[0]) for t in browser.find_elements("css selector", "article.card h2 .t")]
    assert times[0] == 0.9 and times == sorted(times, reverse=True)
    assert browser.save_screenshot(str(tmp_path / "thousand.png"))
