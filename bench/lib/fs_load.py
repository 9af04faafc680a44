"""Tree client of the dedup scenario (bench/dedup.sh).

  fs_load.py uploads URL TOKEN PARENT N CLIENTS SIZE
                                                 POST /api/fs/upload of PARENT/f00000 .. N-1,
                                                 each SIZE random bytes (distinct: one chunk
                                                 file each), over CLIENTS keep-alive
                                                 connections; prints seconds
  fs_load.py count URL TOKEN PATH                prints the number of entries `ls PATH` lists

Any answer but 200 aborts. Only 127.0.0.1 is contacted.
"""

import http.client
import json
import os
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


def upload(conn, token, path, data):
    boundary = "nexus-bench-" + os.urandom(8).hex()
    body = (f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    conn.request("POST", "/api/fs/upload?path=" + urllib.parse.quote(path, safe="/"), body=body,
                 headers={"Authorization": f"Bearer {token}",
                          "Content-Type": f"multipart/form-data; boundary={boundary}"})
    resp = conn.getresponse()
    answer = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"upload {path}: HTTP {resp.status} {answer[:300]!r}")


def uploads(url, token, parent, n, clients, size):
    errors = []

    def work(i):
        conn = connect(url)
        try:
            for k in range(i, n, clients):
                upload(conn, token, f"{parent}/f{k:05d}", os.urandom(size))
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
        sys.exit(f"uploads: {errors[:3]}")
    print(f"{time.monotonic() - start:.3f}")


def count(url, token, path):
    conn = connect(url)
    data = call(conn, "GET", "/api/fs/ls?path=" + urllib.parse.quote(path, safe="/"), token)
    print(len(json.loads(data)))


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "uploads":
        uploads(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), int(argv[7]))
    elif mode == "count":
        count(argv[2], argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
