"""A real headless Chromium for the web UI suites, driven by Debian's
chromium-driver through python3-selenium.

The browser talks to 127.0.0.1 only: no proxy, no background networking,
no component updates. Every console error and failed request the page
causes is collected; check_console() fails the test on any that the test
did not declare expected. Screenshots go to <build>/ui-screenshots/.
"""

import base64
import os
import shutil
import time

import pytest

from cli_support import sha256_of  # noqa: F401 - the suites' one file hash
from harness import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 20

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException,
                                            TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported by missing_requirements()
    webdriver = None


def missing_requirements():
    missing = []
    if webdriver is None:
        missing.append("python3-selenium")
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(pkg)
    return missing


class Browser:
    """One headless Chromium with a download folder of its own."""

    def __init__(self, download_dir, screenshot_dir):
        missing = missing_requirements()
        if missing:
            skip_or_fail("the web UI tests need " + ", ".join(missing))
        self.download_dir = download_dir
        self.screenshot_dir = screenshot_dir
        os.makedirs(download_dir, exist_ok=True)
        os.makedirs(screenshot_dir, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--no-proxy-server", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--disable-extensions",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    "--metrics-recording-only", "--password-store=basic"):
            opts.add_argument(arg)
        opts.add_experimental_option("prefs", {
            "download.default_directory": download_dir,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        })
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": download_dir})
        self.expected_errors = []
        self.seen_errors = []

    def quit(self):
        self.driver.quit()

    # ---- finding things

    def wait(self, predicate, what, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(NoSuchElementException,
                                                     StaleElementReferenceException)).until(
                lambda d: predicate())
        except TimeoutException:
            pytest.fail(f"the page did not show {what} within {timeout} s; console: "
                        f"{self.console_errors()}", pytrace=False)

    def find(self, css):
        return self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, css), css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def visible(self, css):
        def shown():
            el = self.driver.find_element(By.CSS_SELECTOR, css)
            return el if el.is_displayed() else None
        return self.wait(shown, css)

    def button(self, text, scope="main, dialog"):
        """The visible, enabled button whose text is `text`."""
        def found():
            for b in self.driver.find_elements(By.CSS_SELECTOR,
                                               ", ".join(f"{s} button" for s in scope.split(", "))):
                if b.text.strip() == text and b.is_displayed() and b.is_enabled():
                    return b
            return None
        return self.wait(found, f"a button '{text}'")

    def by_label(self, label):
        """The control of the visible <label> whose text is `label`."""
        def found():
            for lab in self.driver.find_elements(By.TAG_NAME, "label"):
                if lab.text.strip() == label and lab.is_displayed():
                    return self.driver.find_element(By.ID, lab.get_attribute("for"))
            return None
        return self.wait(found, f"a field labelled '{label}'")

    def fill(self, label, value):
        el = self.by_label(label)
        el.clear()
        el.send_keys(value)
        return el

    def text_of(self, css):
        return self.find(css).text

    def go(self, base_url, hash_route):
        self.driver.get(f"{base_url}/#/{hash_route}")

    # ---- console

    def console_errors(self):
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.seen_errors.append(entry.get("message", ""))
        return list(self.seen_errors)

    def expect_error(self, fragment):
        """Declares that a console error containing `fragment` is part of the test."""
        self.expected_errors.append(fragment)

    def check_console(self):
        errors = self.console_errors()
        self.seen_errors = []
        unexpected = [e for e in errors
                      if not any(fragment in e for fragment in self.expected_errors)]
        self.expected_errors = []
        assert not unexpected, f"console errors or failed requests: {unexpected}"

    # ---- screenshots

    def screenshots(self, name):
        """<name>-desktop.png, <name>-dark.png (prefers-color-scheme: dark) and
        <name>-360.png: the whole page as it is."""
        self._capture(f"{name}-desktop.png")
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        try:
            self._capture(f"{name}-dark.png")
        finally:
            self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
        try:
            time.sleep(0.3)  # a layout pass at the new width before the capture
            self._capture(f"{name}-360.png")
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def _capture(self, file_name):
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}})
        with open(os.path.join(self.screenshot_dir, file_name), "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    # ---- downloads

    def wait_for_download(self, name, size, timeout=60):
        path = os.path.join(self.download_dir, name)

        def done():
            partial = [f for f in os.listdir(self.download_dir) if f.endswith(".crdownload")]
            return (os.path.exists(path) and not partial and os.path.getsize(path) == size)
        self.wait(done, f"the download {name} complete", timeout)
        return path


def screenshot_dir():
    build = os.environ.get("NEXUS_BUILD_DIR", "")
    return os.path.join(os.path.abspath(build) if build else ".", "ui-screenshots")


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["Browser", "By", "Keys", "missing_requirements", "remove_tree", "screenshot_dir",
           "sha256_of"]
