"""The web UI in a real headless Chromium against the three real services:
register through the page with the code from the SMTP sink, upload a
50 MiB file and a folder by the file inputs and see their progress,
download the file byte-identical (a signed link, streamed to disk), cancel
a throttled upload mid-way, drag a row onto a folder and drop files from
the desktop, make, rename, move and delete folders, hit the quota, scroll,
filter and sort a folder of 10,000 entries, run a lambda snippet,
create/stop/delete a node and see its charts draw, read the account page,
sign out and in again. Any console error or failed request the test did
not expect fails it. Screenshots of each page (desktop, dark and 360 px
wide) go to <build>/ui-screenshots/.
"""

import concurrent.futures
import os
import secrets
import tempfile

import pytest

from harness import new_user
from lambda_runs import runc_path
from nodes_host import HostView, delete_all_nodes
from nodes_host import missing_requirements as nodes_missing
from web_browser import Browser, By, Keys, remove_tree, screenshot_dir, sha256_of
from harness import skip_or_fail

MiB = 1 << 20
QUOTA = 64 * MiB
BIG = 50 * MiB


@pytest.fixture(scope="module")
def inst(module_nexus_factory):
    inst = module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="webui")
    inst.user = new_user("web")
    inst.local = tempfile.mkdtemp(prefix=f"nexus-e2e-webui-{inst.env['NEXUS_INSTANCE']}-")
    yield inst
    remove_tree(inst.local)


@pytest.fixture(scope="module")
def browser(inst):
    b = Browser(os.path.join(inst.local, "downloads"), screenshot_dir())
    yield b
    b.quit()


@pytest.fixture
def ui(inst, browser, attach_logs):
    """The browser, its console checked after the test."""
    attach_logs(inst)
    yield browser
    browser.check_console()


def base(inst):
    return inst.api.base_url


def row(ui, name):
    return ui.find(f'#files-list .row[data-name="{name}"]')


def rows(ui):
    return [r.get_attribute("data-name") for r in ui.find_all("#files-list .row")]


def ls(inst, path):
    r = inst.api.get("/api/fs/ls", params={"path": path}, token=inst.user.token)
    assert r.status_code == 200, r.text
    return sorted(e["name"] for e in r.json())


def click_in_row(ui, name, label):
    row(ui, name).find_element(By.CSS_SELECTOR, f'button[aria-label="{label} {name}"]').click()


# ---------------------------------------------------------------- sign in


def test_register_through_the_page_with_the_mailed_code(inst, ui):
    ui.driver.get(base(inst) + "/")
    ui.button("Create one").click()
    ui.screenshots("register")
    ui.fill("Username", inst.user.username)
    ui.fill("Email", inst.user.email)
    ui.fill("Password", inst.user.password)
    mark = inst.sink.mark()
    ui.button("Create account").click()
    code = inst.sink.wait_for_code(inst.user.email, since=mark)
    ui.by_label("6-digit code")
    resend = ui.find("#resend")
    assert resend.text.startswith("Resend code in "), resend.text
    assert not resend.is_enabled()
    # The instance mails through SMTP: no outbox note.
    assert not any(n.is_displayed() for n in ui.find_all(".note"))
    ui.screenshots("code")
    ui.fill("6-digit code", code).send_keys(Keys.ENTER)
    ui.find("#files-list")
    assert ui.text_of("#who") == inst.user.username
    inst.user.token = ui.driver.execute_script(
        "return JSON.parse(sessionStorage.getItem('nexus.session')).token")
    assert inst.api.get("/api/me", token=inst.user.token).json()["username"] == inst.user.username
    ui.wait(lambda: "This folder is empty." in ui.text_of("#files-list"), "an empty folder")
    ui.screenshots("files-empty")


# ---------------------------------------------------------------- files


def test_upload_a_big_file_and_download_it_byte_identical(inst, ui):
    name = f"big-{secrets.token_hex(3)}.bin"
    local = os.path.join(inst.local, name)
    with open(local, "wb") as f:
        for _ in range(BIG // MiB):
            f.write(os.urandom(MiB))
    ui.find("#upload-files").send_keys(local)
    done = ui.find(f'li.upload.done[data-path="/{name}"]')
    bar = done.find_element(By.TAG_NAME, "progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == str(BIG)
    assert "/s" in done.find_element(By.CSS_SELECTOR, ".upload-status").text
    row(ui, name)
    assert "50.0 MiB" in row(ui, name).text or "50 MiB" in row(ui, name).text
    usage = ui.find(".usage-text").text
    assert "50 MiB of 64 MiB used" in usage, usage

    click_in_row(ui, name, "Download")
    got = ui.wait_for_download(name, BIG)
    assert sha256_of(got) == sha256_of(local)
    ui.screenshots("files")


def test_upload_a_folder_then_make_rename_move_and_delete_folders(inst, ui):
    tree = os.path.join(inst.local, "photos")
    os.makedirs(os.path.join(tree, "2024"))
    for rel, size in (("a.jpg", 1000), ("b.jpg", 2000), ("2024/c.jpg", 3000)):
        with open(os.path.join(tree, rel), "wb") as f:
            f.write(os.urandom(size))
    ui.find("#upload-folder").send_keys(tree)
    for rel in ("a.jpg", "b.jpg", "2024/c.jpg"):
        ui.find(f'li.upload.done[data-path="/photos/{rel}"]')
    row(ui, "photos")
    assert ls(inst, "/photos") == ["2024", "a.jpg", "b.jpg"]

    ui.find("#new-folder").click()
    ui.fill("Folder name", "archive").send_keys(Keys.ENTER)
    row(ui, "archive")
    # Folders first, then files.
    names = rows(ui)
    assert names.index("archive") < names.index(next(n for n in names if n.startswith("big-")))

    click_in_row(ui, "archive", "Rename or move")
    ui.fill("New name, or a path from / to move it", "archived").send_keys(Keys.ENTER)
    row(ui, "archived")
    click_in_row(ui, "photos", "Rename or move")
    ui.fill("New name, or a path from / to move it", "/archived/photos").send_keys(Keys.ENTER)
    ui.wait(lambda: "photos" not in rows(ui), "photos moved away")
    assert ls(inst, "/archived") == ["photos"]

    row(ui, "archived").find_element(By.CSS_SELECTOR, "a.folder").click()
    row(ui, "photos")
    crumbs = [a.text for a in ui.find_all(".crumbs a")]
    assert crumbs == ["Home", "archived"]
    click_in_row(ui, "photos", "Delete")
    dialog = ui.visible("dialog")
    assert "3 files and 1 folders" in dialog.text, dialog.text
    ui.button("Delete", scope="dialog").click()
    ui.wait(lambda: "This folder is empty." in ui.text_of("#files-list"), "photos deleted")
    assert ls(inst, "/archived") == []
    ui.find(".crumbs a[href='#/files']").click()
    row(ui, "archived")


def test_an_upload_shows_its_progress_and_can_be_cancelled(inst, ui):
    name = f"slow-{secrets.token_hex(3)}.bin"
    local = os.path.join(inst.local, name)
    with open(local, "wb") as f:
        f.write(os.urandom(4 * MiB))
    # Throttled to 256 KiB/s so the transfer is still under way when looked at.
    ui.driver.execute_cdp_cmd("Network.enable", {})
    ui.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": 256 * 1024})
    try:
        ui.find("#upload-files").send_keys(local)
        job = f'li.upload[data-path="/{name}"]'
        ui.wait(lambda: 0 < int(ui.find(f"{job} progress").get_attribute("value")) < 4 * MiB,
                "the upload part-way")
        assert "/s" in ui.text_of(f"{job} .upload-status")
        ui.find(f'{job} button[aria-label="Cancel upload of /{name}"]').click()
        ui.find(f"{job}.cancelled")
    finally:
        ui.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        ui.driver.execute_cdp_cmd("Network.disable", {})
    assert name not in ls(inst, "/")


DRAG_ROW_ONTO_ROW = """
const [from, to] = arguments;
const row = (n) => document.querySelector(`#files-list .row[data-name="${n}"]`);
const dt = new DataTransfer();
const fire = (el, type) => el.dispatchEvent(
    new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
fire(row(from), 'dragstart');
fire(row(to), 'dragover');
fire(row(to), 'drop');
"""

DROP_FILE_ONTO = """
const [selector, name, text] = arguments;
const dt = new DataTransfer();
dt.items.add(new File([text], name, {type: 'text/plain'}));
const el = document.querySelector(selector);
for (const type of ['dragover', 'drop']) {
  el.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
}
"""


def test_drag_a_row_onto_a_folder_and_drop_files_from_the_desktop(inst, ui):
    token = inst.user.token
    assert inst.api.post("/api/fs/mkdir", json={"path": "/dragdest"},
                         token=token).status_code == 200
    ui.go(base(inst), "files/dragdest")
    ui.wait(lambda: "This folder is empty." in ui.text_of("#files-list"), "an empty folder")
    ui.go(base(inst), "files")
    ui.driver.execute_script(DROP_FILE_ONTO, "section.files", "dropped.txt", "dropped here")
    ui.find('li.upload.done[data-path="/dropped.txt"]')
    row(ui, "dropped.txt")
    ui.driver.execute_script(DRAG_ROW_ONTO_ROW, "dropped.txt", "dragdest")
    ui.wait(lambda: "dropped.txt" not in rows(ui), "the row moved away")
    ui.driver.execute_script(DROP_FILE_ONTO, '#files-list .row[data-name="dragdest"]',
                             "second.txt", "dropped on the folder")
    ui.find('li.upload.done[data-path="/dragdest/second.txt"]')
    assert ls(inst, "/dragdest") == ["dropped.txt", "second.txt"]
    r = inst.api.get("/api/fs/download", params={"path": "/dragdest/dropped.txt"}, token=token)
    assert r.content == b"dropped here"
    assert inst.api.request("DELETE", "/api/fs/delete", params={"path": "/dragdest"},
                            token=token).status_code == 200


def test_an_upload_over_quota_fails_on_its_own_row(inst, ui):
    name = f"over-{secrets.token_hex(3)}.bin"
    local = os.path.join(inst.local, name)
    with open(local, "wb") as f:
        f.write(os.urandom(20 * MiB))
    ui.expect_error("507")
    ui.find("#upload-files").send_keys(local)
    failed = ui.find(f'li.upload.failed[data-path="/{name}"]')
    assert "quota exceeded" in failed.text, failed.text
    assert name not in ls(inst, "/")


def test_a_folder_of_many_entries_is_paged_by_the_virtual_list(inst, ui):
    count = 10_000
    token = inst.user.token

    def mk(i):
        r = inst.api.post("/api/fs/mkdir", json={"path": f"/many/d{i:05d}"}, token=token)
        assert r.status_code == 200, r.text
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(mk, range(count)))
    ui.go(base(inst), "files/many")
    ui.wait(lambda: ui.text_of("#files-count") == f"{count} entries", "the entry count",
            timeout=60)
    drawn = len(rows(ui))
    assert 0 < drawn < 100, drawn
    ui.driver.execute_script("document.getElementById('files-list').scrollTop = 44 * 1000")
    ui.wait(lambda: "d01000" in rows(ui), "the rows around entry 1000")
    ui.find("#files-filter").send_keys("d0142")
    ui.wait(lambda: ui.text_of("#files-count") == f"10 of {count} entries", "the filter")
    ui.find('button.sort[data-key="name"]').click()
    ui.driver.execute_script("document.getElementById('files-list').scrollTop = 0")
    ui.wait(lambda: rows(ui)[:1] == ["d01429"], "the filtered rows sorted descending")
    ui.screenshots("files-many")
    ui.go(base(inst), "files")
    row(ui, "many")


# ---------------------------------------------------------------- lambda


def test_run_a_lambda_snippet_with_ctrl_enter(inst, ui):
    if os.geteuid() != 0 or runc_path() is None:
        skip_or_fail("lambda needs root and runc")
    ui.go(base(inst), "lambda")
    code = ui.find("#lambda-code")
    code.send_keys(Keys.CONTROL, "a")
    code.send_keys(Keys.DELETE)
    code.send_keys("import sys\nprint(sys.stdin.read()[::-1])")
    ui.fill("Standard input", "olleh")
    code.send_keys(Keys.CONTROL, Keys.ENTER)
    ui.wait(lambda: ui.text_of("#lambda-stdout").strip() == "hello", "the snippet's output",
            timeout=120)
    assert ui.text_of("#lambda-exit") == "0"
    assert ui.text_of("#lambda-flags") == "none"
    assert len(ui.find_all(".lambda-history li")) == 1
    ui.screenshots("lambda")


# ---------------------------------------------------------------- nodes


def test_create_watch_exec_stop_and_delete_a_node(inst, ui):
    missing = nodes_missing()
    if missing:
        skip_or_fail("nodes need " + ", ".join(missing))
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        inst.ip_forward_before = f.read()
    inst.host = HostView(inst)
    name = f"web{secrets.token_hex(3)}"
    try:
        ui.go(base(inst), "nodes")
        ui.fill("Name", "Bad_Name")
        ui.find("#node-create").click()
        assert "Name:" in ui.visible("form .error").text
        ui.fill("Name", name)
        ui.fill("Memory (MB)", "64")
        ui.fill("Disk", "128M")
        ui.find("#node-create").click()
        link = ui.wait(lambda: ui.driver.find_element(
            By.CSS_SELECTOR, f'#node-list tr[data-node="{name}"] a'), "the new node", timeout=120)
        assert "Running" in ui.find(f'#node-list tr[data-node="{name}"]').text
        link.click()
        # Two samples (the daemon collects every 5 s) make a line.
        ui.wait(lambda: int(ui.find("#chart-memory path.line").get_attribute("data-points")) >= 2,
                "the memory chart's points", timeout=40)
        ui.find("#chart-cpu path.line")
        ui.fill("Command (run with sh -c)", "echo hi from $(hostname)")
        ui.button("Run").click()
        ui.wait(lambda: ui.text_of("#exec-exit") == "exit code 0", "the exec's exit code",
                timeout=60)
        assert "hi from" in ui.text_of("#exec-output")
        ui.screenshots("nodes")
        ui.find(f'button[aria-label="Stop {name}"]').click()
        ui.wait(lambda: "Stopped" in ui.find(f'#node-list tr[data-node="{name}"]').text,
                "the node stopped", timeout=60)
        ui.find(f'button[aria-label="Delete {name}"]').click()
        ui.button("Delete", scope="dialog").click()
        ui.wait(lambda: not ui.find_all(f'#node-list tr[data-node="{name}"]'),
                "the node gone", timeout=60)
        assert inst.api.get("/api/nodes", token=inst.user.token).json() == []
    finally:
        delete_all_nodes(inst, [inst.user])


# ---------------------------------------------------------------- account


def test_account_page_then_sign_out_revokes_the_token(inst, ui):
    ui.go(base(inst), "account")
    assert ui.text_of("#account-username") == inst.user.username
    assert ui.text_of("#account-email") == inst.user.email
    ui.find(".usage .bar")
    ui.screenshots("account")
    ui.find("#logout").click()
    ui.button("Sign in")
    assert ui.driver.execute_script("return sessionStorage.getItem('nexus.session')") is None
    assert inst.api.get("/api/me", token=inst.user.token).status_code == 401
    ui.screenshots("signin")


def test_sign_in_again_with_the_mailed_code(inst, ui):
    ui.driver.get(base(inst) + "/")
    ui.fill("Username", inst.user.username)
    ui.fill("Password", "not-" + inst.user.password)
    ui.expect_error("401")
    ui.button("Sign in").click()
    assert ui.visible("form .error").text
    ui.fill("Password", inst.user.password)
    mark = inst.sink.mark()
    ui.button("Sign in").click()
    code = inst.sink.wait_for_code(inst.user.email, since=mark)
    # The code step names the address the login's answer gave.
    assert inst.user.email in ui.visible(".field .hint").text
    ui.fill("6-digit code", code).send_keys(Keys.ENTER)
    row(ui, "archived")
    ui.find("#logout").click()
    ui.button("Sign in")
