"""The three services as processes: clean shutdown, socket hygiene, restart
after a crash — what an operator relies on."""

import os
import signal
import stat
import subprocess

from harness import SERVICES, new_user, register, upload


def test_every_service_stops_cleanly_on_sigterm(nexus_factory):
    inst = nexus_factory(name="stop")
    for name, _ in reversed(SERVICES):
        assert inst.stop_service(name, signal.SIGTERM) == 0, f"{name}\n{inst.logs_text()}"


def thread_names(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return names


def test_no_service_runs_grpc_on_the_callback_threads_that_sleep(nexus, alice):
    # gRPC 1.51's callback API runs on "nexting_thread"s that stop polling for
    # 100 ms after each idle second, holding up whatever request arrives then.
    # Every kind of call ran once: registration (alice), a token check, an
    # upload and a download.
    r = upload(nexus.api, alice.token, "/api/files/upload", [("file", "t.bin", b"x" * 1000)])
    assert r.status_code == 200, r.text
    got = nexus.api.get(f"/api/files/{r.json()['id']}/download", token=alice.token)
    assert got.status_code == 200 and got.content == b"x" * 1000
    for name, _ in SERVICES:
        names = thread_names(nexus.procs[name].pid)
        assert len(names) > 1, (name, names)
        assert "nexting_thread" not in names, (name, sorted(names))


def test_nexusd_listens_on_a_socket_only_its_group_can_use_and_removes_it_on_exit(nexus_factory):
    inst = nexus_factory(name="sock")
    path = os.path.join(inst.data_dir, "run", "nexusd.sock")
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o007 == 0, oct(st.st_mode)
    assert "nexusd listening on unix:" in inst.logs()["nexusd"]
    assert inst.stop_service("nexusd") == 0
    assert not os.path.exists(path)


def test_nexusd_recovers_from_a_crash_and_keeps_its_data(nexus_factory):
    inst = nexus_factory(name="crash")
    user = new_user("crash")
    register(inst, user)
    inst.stop_service("nexusd", signal.SIGKILL)
    assert os.path.exists(os.path.join(inst.data_dir, "run", "nexusd.sock")), "stale socket"
    inst.start_service("nexusd")
    inst.wait_healthy()
    assert inst.api.get("/api/me", token=user.token).status_code == 200


def test_a_second_nexusd_on_the_same_data_dir_refuses_to_start(nexus_factory):
    inst = nexus_factory(name="twice")
    first = inst.procs["nexusd"]
    second = subprocess.run([first.args[0]], env=inst.env, cwd=inst.data_dir,
                            capture_output=True, timeout=10)
    assert second.returncode != 0
    assert b"running process" in second.stderr, second.stderr
    assert inst.api.get("/healthz").status_code == 200


def test_tokens_survive_an_auth_restart(nexus_factory):
    inst = nexus_factory(name="authrestart")
    user = new_user("restart")
    register(inst, user)
    assert inst.stop_service("nexus-auth") == 0
    inst.start_service("nexus-auth")
    inst.wait_healthy()
    assert inst.api.get("/api/me", token=user.token).status_code == 200
