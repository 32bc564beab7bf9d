"""The portal in a real browser: headless Debian Chromium driven by Selenium + chromedriver.

Sends a Thai message in think mode, watches the answer stream in, checks the collapsible
reasoning block, and saves a screenshot under ``runs/test-artifacts/serve/``. Skips, saying why,
only when no Chromium/chromedriver is installed (``make browser-deps`` installs them).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import E2E_KEY, THINK_REPLY, FakeBackend

from compass.serve.app import create_app
from compass.serve.config import ServeConfig
from compass.serve.server import BackgroundServer

ARTIFACTS = Path(os.environ.get("COMPASS_TEST_ARTIFACTS", "runs/test-artifacts")) / "serve"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "no chromium/chromedriver on PATH: "
            "run `make browser-deps` (apt chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,800",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(fn, timeout=20.0, every=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting in the browser")


def _send_thai_in_think_mode(driver, url: str, key: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/")
    _wait(lambda: driver.find_element(By.ID, "model-name").text)
    assert driver.find_element(By.ID, "key-row").is_displayed() == (key is not None)
    if key is not None:
        driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.ID, "think").click()
    driver.find_element(By.ID, "input").send_keys("สวัสดีครับ 2+2 เท่ากับเท่าไร?")
    driver.find_element(By.ID, "send").click()


def test_portal_streams_thai_with_reasoning(browser):
    from selenium.webdriver.common.by import By

    backend = FakeBackend(step_delay_s=0.03)
    with BackgroundServer(create_app(backend, ServeConfig())) as url:
        _send_thai_in_think_mode(browser, url)
        # Streaming: the reasoning grows while the message is still marked as streaming.
        partial = _wait(
            lambda: browser.execute_script(
                "const m = document.querySelector('.msg.assistant.streaming .reasoning-text');"
                "return m && m.textContent.length > 0 ? m.textContent : null;"
            )
        )
        assert len(partial) < len("คิดก่อน: 2+2")
        msg = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.done"))[0]
        assert (
            msg.find_element(By.CSS_SELECTOR, ".content").text == THINK_REPLY.split("</think>")[1]
        )
        details = msg.find_element(By.CSS_SELECTOR, "details.reasoning")
        assert details.get_attribute("open") is None  # collapsed once the answer arrived
        details.find_element(By.TAG_NAME, "summary").click()
        assert details.get_attribute("open") is not None
        assert details.find_element(By.CSS_SELECTOR, ".reasoning-text").text == "คิดก่อน: 2+2"
        assert msg.find_element(By.CSS_SELECTOR, "button.regenerate").is_displayed()
        user = browser.find_element(By.CSS_SELECTOR, ".msg.user .content").text
        assert user == "สวัสดีครับ 2+2 เท่ากับเท่าไร?"  # Thai survives the round trip
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "portal_thai_think.png"))
        added = backend.added
        msg.find_element(By.CSS_SELECTOR, "button.regenerate").click()
        _wait(lambda: backend.added == added + 1)  # asked again...
        again = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.done"))
        assert len(browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")) == 1  # ...in place
        assert again[0].find_element(By.CSS_SELECTOR, ".content").text == "คำตอบคือ 4"


def test_portal_real_engine_with_api_key(browser, engine_backend):
    """The micro model behind keys: the portal asks for the key and shows streamed reasoning."""
    from selenium.webdriver.common.by import By

    app = create_app(
        engine_backend, ServeConfig(max_new_tokens=32, default_max_tokens=32), {E2E_KEY: "portal"}
    )
    with BackgroundServer(app) as url:
        _send_thai_in_think_mode(browser, url, key=E2E_KEY)
        msg = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.done"))[0]
        assert "error" not in msg.get_attribute("class")
        reasoning = msg.find_element(By.CSS_SELECTOR, "details.reasoning .reasoning-text")
        assert reasoning.get_attribute("textContent")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "portal_micro_model.png"))
