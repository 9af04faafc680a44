"""One client, one request at a time, a pause between requests: what a person
clicking through the API sees, as opposed to wrk's saturating load. Servers
that are idle between requests pay for waking up, and anything that sleeps
on a timer while idle shows up in the tail.

  paced_get.py N PAUSE_S OUTDIR NAME=URL[@TOKEN]...

N rounds; each round GETs every URL once (on its own kept-alive connection,
with the bearer TOKEN when given), PAUSE_S apart, the first subject of a
round alternating. Writes the milliseconds of each request to OUTDIR/t_NAME.
Any status but 200 aborts. Only 127.0.0.1 is contacted.
"""

import http.client
import sys
import time
import urllib.parse


def main():
    n, pause, outdir = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    subjects = []
    for spec in sys.argv[4:]:
        name, rest = spec.split("=", 1)
        url, _, token = rest.partition("@")
        u = urllib.parse.urlsplit(url)
        assert u.hostname == "127.0.0.1", url
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        subjects.append((name, conn, u.path or "/", headers, []))
    for i in range(n):
        order = subjects if i % 2 == 0 else subjects[::-1]
        for name, conn, path, headers, times in order:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - start
            if resp.status != 200:
                sys.exit(f"{name}: HTTP {resp.status} {body[:300]!r}")
            times.append(elapsed * 1000)
            time.sleep(pause)
    for name, _, _, _, times in subjects:
        with open(f"{outdir}/t_{name}", "w") as f:
            f.write("".join(f"{t:.3f}\n" for t in times))


if __name__ == "__main__":
    main()
