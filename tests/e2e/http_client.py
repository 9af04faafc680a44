"""The suite's HTTP client: requests against one gateway that stay on
127.0.0.1, the check of the API's JSON error answers, and a raw request for
targets that requests would re-quote.
"""

import http.client

import requests
from requests.adapters import HTTPAdapter


class _SourceAddressAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections leave from one local address, so the
    gateway sees that address as the client (the peer of the TCP connection)."""

    def __init__(self, source_address, **kwargs):
        self._source_address = source_address
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["source_address"] = (self._source_address, 0)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


class Api:
    """requests against one gateway; ignores proxy settings so traffic stays local.

    source_address (e.g. "127.0.0.7") binds the client's end of every
    connection, to play a distinct client: any 127.0.0.x is a local address.
    ca_file: for an https:// base_url, the CA certificate to verify the gateway's with.
    """

    def __init__(self, base_url, source_address=None, ca_file=None):
        assert base_url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")), base_url
        self.base_url = base_url
        self.source_address = source_address
        self.session = requests.Session()
        self.session.trust_env = False
        if ca_file is not None:
            self.session.verify = ca_file
        if source_address is not None:
            assert source_address.startswith("127."), source_address
            self.session.mount("http://", _SourceAddressAdapter(source_address))

    def request(self, method, path, token=None, headers=None, timeout=10, **kwargs):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.session.request(method, self.base_url + path, headers=h, timeout=timeout,
                                    **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)


def assert_json_error(resp, status):
    """Asserts `resp` is `status` with a JSON body {"error": "<non-empty string>"}; returns it."""
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.path_url}: expected {status}, "
        f"got {resp.status_code} {resp.text[:300]!r}")
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), f"error Content-Type is {ctype!r}"
    body = resp.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def raw_request(port, method, target, headers=None, body=b"", timeout=10):
    """Sends the request target exactly as given (no re-quoting of %2e and the
    like, which requests does) and returns (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()
