"""Browser side of the web UI scenario (bench/web_ui.sh): a headless
Debian chromium, driven through chromium-driver, reading the User Timing
entries the page records (web/js/marks.js) and its Resource Timing.

  web_ui_probe.py first-load URL RUNS
      Each run: a fresh browser, no cache, no session: loads URL ("/"), waits
      for the mark nexus:interactive. Prints per run "<transfer_bytes>
      <body_bytes> <interactive_ms>": transferSize and encodedBodySize summed
      over the document and every resource.
  web_ui_probe.py listing URL TOKEN USERNAME FOLDER RUNS
      Signed in (the session the page keeps), on the Files root: each run
      navigates to FOLDER and prints the milliseconds from navigation to its
      list's first paint (measure nexus:listing), then goes back to the root.
  web_ui_probe.py upload URL TOKEN USERNAME FILE
      Signed in, picks FILE in the "Upload files" input and prints the
      seconds from the upload's start to the server's 200 (measure
      nexus:upload).

Only 127.0.0.1 is contacted; the browser's profile is a temp dir removed at exit.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="nexus-bench-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--no-proxy-server", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--disable-extensions",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    f"--user-data-dir={self.profile}"):
            opts.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_script_timeout(3600)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait_js(self, script, timeout, what, *args):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script, *args)
            if value is not None:
                return value
            if time.monotonic() > deadline:
                sys.exit(f"web_ui_probe: {what}: not within {timeout} s")
            time.sleep(0.02)

    def sign_in(self, url, token, username):
        # The page keeps its session in sessionStorage (web/js/session.js):
        # put one there, as signing in would, then load the app.
        self.driver.get(url)
        self.js("sessionStorage.setItem('nexus.session', arguments[0])",
                json.dumps({"token": token, "username": username}))
        self.driver.get(url + "#/files")
        self.wait_js(INTERACTIVE, 30, "the Files page")


INTERACTIVE = """
const m = performance.getEntriesByName('nexus:interactive', 'mark')[0];
return m ? m.startTime : null;"""

TRANSFERRED = """
const all = [...performance.getEntriesByType('navigation'),
             ...performance.getEntriesByType('resource')];
return [all.reduce((s, e) => s + e.transferSize, 0),
        all.reduce((s, e) => s + e.encodedBodySize, 0), all.length];"""

MEASURE = """
const ms = performance.getEntriesByName(arguments[0], 'measure')
  .filter((m) => m.detail === arguments[1]);
return ms.length > arguments[2] ? ms[ms.length - 1].duration : null;"""

# The upload's duration, or the text of its row if it failed.
UPLOADED = """
const m = performance.getEntriesByName('nexus:upload', 'measure')
  .find((e) => e.detail === arguments[0]);
if (m) return m.duration;
const failed = document.querySelector('li.upload.failed');
return failed ? failed.textContent : null;"""


def check_local(url):
    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", url


def first_load(url, runs):
    for _ in range(runs):
        b = Browser()
        try:
            b.driver.execute_cdp_cmd("Network.enable", {})
            b.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            b.driver.get(url)
            interactive = b.wait_js(INTERACTIVE, 30, "the first view")
            # Everything the first view asked for has arrived by now, but a
            # resource's entry is written when its body ends: let them settle.
            time.sleep(0.5)
            transfer, body, count = b.js(TRANSFERRED)
            print(f"web_ui_probe: {count} resources", file=sys.stderr)
            print(f"{transfer} {body} {interactive:.1f}")
        finally:
            b.quit()


def listing(url, token, username, folder, runs):
    b = Browser()
    try:
        b.sign_in(url, token, username)
        for i in range(runs):
            b.js("location.hash = arguments[0]", "#/files" + folder)
            ms = b.wait_js(MEASURE, 120, f"the listing of {folder}", "nexus:listing", folder, i)
            print(f"{ms:.1f}")
            before = b.js("return performance.getEntriesByName('nexus:listing', 'measure')"
                          ".filter((m) => m.detail === '/').length")
            b.js("location.hash = '#/files'")
            b.wait_js(MEASURE, 60, "the listing of /", "nexus:listing", "/", before)
    finally:
        b.quit()


def upload(url, token, username, path):
    b = Browser()
    try:
        b.sign_in(url, token, username)
        b.driver.find_element(By.ID, "upload-files").send_keys(os.path.abspath(path))
        name = "/" + os.path.basename(path)
        ms = b.wait_js(UPLOADED, 3600, f"the upload of {name}", name)
        if isinstance(ms, str):
            sys.exit(f"web_ui_probe: the upload of {name} failed: {ms}")
        print(f"{ms / 1000:.6f}")
    finally:
        b.quit()


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    mode, url = argv[1], argv[2]
    check_local(url)
    if mode == "first-load" and len(argv) == 4:
        first_load(url, int(argv[3]))
    elif mode == "listing" and len(argv) == 7:
        listing(url, argv[3], argv[4], argv[5], int(argv[6]))
    elif mode == "upload" and len(argv) == 6:
        upload(url, argv[3], argv[4], argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
