"""The /api/fs routes as calls of one user on one instance, for the
test_fs*.py files: each answers the response, the *_ok ones check it too."""

from harness import upload


KiB = 1 << 10
MiB = 1 << 20


def mkdir(inst, user, path):
    return inst.api.post("/api/fs/mkdir", token=user.token, json={"path": path})


def ls(inst, user, path):
    return inst.api.get("/api/fs/ls", token=user.token, params={"path": path})


def ls_ok(inst, user, path):
    r = ls(inst, user, path)
    assert r.status_code == 200, f"ls {path}: {r.status_code} {r.text[:300]}"
    entries = r.json()
    assert isinstance(entries, list), entries
    return entries


def names(entries):
    return [(e["name"], e["type"]) for e in entries]


def put(inst, user, path, data, timeout=60):
    # The part's filename is not the stored name (the path's last segment is).
    return upload(inst.api, user.token, "/api/fs/upload",
                  [("path", None, path.encode()), ("file", "upload.bin", data)], timeout=timeout)


def put_ok(inst, user, path, data):
    r = put(inst, user, path, data)
    assert r.status_code == 200, f"upload {path}: {r.status_code} {r.text[:300]}"
    return r


def rm(inst, user, path):
    return inst.api.request("DELETE", "/api/fs/delete", token=user.token, params={"path": path})


def mv(inst, user, old, new):
    return inst.api.post("/api/fs/move", token=user.token, json={"old_path": old, "new_path": new})


def get(inst, user, path, **kw):
    return inst.api.get("/api/fs/download", token=user.token, params={"path": path}, **kw)


def usage(inst, user):
    r = inst.api.get("/api/fs/usage", token=user.token)
    assert r.status_code == 200, r.text
    u = r.json()
    assert {"used_bytes", "quota_bytes", "files", "folders"} <= set(u), u
    return u
