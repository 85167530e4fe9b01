"""The web page in a real browser (Debian's headless Chromium driven by Playwright) against a real
`qa serve`: ask, see the cited answer card, open the document at the passage, on a phone-width screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from serving import READER

Q_DEPUTY = "株洲市妇幼保健院的党委专职副书记是谁？"
Q_ABSTAIN = "株洲市二医院2022年全年的门诊量是多少人次？"
DEPUTY_DOC = "000_c13455d065a0bfbb.txt"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def test_ask_and_open_the_cited_document(browser, served, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((served.url, "data:")) else elsewhere.append(r.url))
    page.goto(served.url + "/")
    page.set_checked("#reader", READER)
    page.fill("#question", Q_DEPUTY)
    page.click("#submit")
    page.wait_for_selector(".card")
    first = page.locator(".card").first
    cite = first.locator("a.cite").inner_text()
    assert cite.startswith(DEPUTY_DOC) and "第" in cite and "行" in cite
    assert "邓顺钢" in "".join(first.locator("mark.sent").all_inner_texts())  # the answer span may cut it
    assert page.locator(".card").count() == 5
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=False)

    first.locator("a.cite").click()
    page.wait_for_selector("#docview:not([hidden])")
    target = page.locator("#target")
    assert "邓顺钢" in "".join(page.locator("mark.pass").all_inner_texts())  # the cited passage, highlighted
    box, view = target.bounding_box(), page.viewport_size
    assert box is not None and 0 <= box["y"] < view["height"], "the document is not scrolled to the passage"
    assert DEPUTY_DOC in page.locator("#doctitle").inner_text()
    page.screenshot(path=str(tmp_path / "document.png"))
    page.click("#docclose")
    assert page.locator("#docview").is_hidden()

    page.fill("#question", Q_ABSTAIN)
    page.click("#submit")
    page.wait_for_selector("#answer.abstain")
    assert "没有段落" in page.locator("#answer").inner_text()
    assert page.locator(".card").count() == 5  # the closest passages are offered
    page.click("#lang")
    assert page.locator("#submit").inner_text() == "Ask"
    assert "No passage in the index answers" in page.locator("#answer").inner_text()
    assert elsewhere == [], f"the page fetched from elsewhere: {elsewhere}"

    shots = os.environ.get("QA_SCREENSHOT_DIR")
    if shots:  # how docs/web-page.png is made
        desktop = browser.new_page(viewport={"width": 1000, "height": 760}, locale="zh-CN")
        desktop.goto(served.url + "/")
        desktop.set_checked("#reader", READER)
        desktop.fill("#question", "株洲市中心医院的党委书记是谁？")
        desktop.click("#submit")
        desktop.wait_for_selector(".card")
        desktop.screenshot(path=str(Path(shots) / "web-page.png"))
        shutil.copy(tmp_path / "document.png", Path(shots) / "web-document-phone.png")
