"""Tree client of the dedup scenario (bench/dedup.sh).

  fs_load.py mkdirs URL TOKEN PARENT N CLIENTS   POST /api/fs/mkdir PARENT/d00000 .. N-1 over
                                                 CLIENTS keep-alive connections; prints seconds
  fs_load.py count URL TOKEN PATH                prints the number of entries `ls PATH` lists

Any answer but 200 aborts. Only 127.0.0.1 is contacted.
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse


def connect(url):
    u = urllib.parse.urlsplit(url)
    assert u.hostname == "127.0.0.1", url
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(conn, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        sys.exit(f"{method} {path}: HTTP {resp.status} {data[:300]!r}")
    return data


def mkdirs(url, token, parent, n, clients):
    errors = []

    def work(i):
        conn = connect(url)
        try:
            for k in range(i, n, clients):
                call(conn, "POST", "/api/fs/mkdir", token, {"path": f"{parent}/d{k:05d}"})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"mkdirs: {errors[:3]}")
    print(f"{time.monotonic() - start:.3f}")


def count(url, token, path):
    conn = connect(url)
    data = call(conn, "GET", "/api/fs/ls?path=" + urllib.parse.quote(path, safe="/"), token)
    print(len(json.loads(data)))


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "mkdirs":
        mkdirs(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]))
    elif mode == "count":
        count(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
