"""WebDAV requests against one instance, for the test_dav*.py files: each
helper answers the `requests` response; multistatus bodies are parsed with
the standard library's XML parser into {href: {"{ns}name": element}}."""

import urllib.parse
import xml.etree.ElementTree as ET

DAV = "{DAV:}"


def dav(inst, user, method, path, body=None, headers=None, prefix="/dav", timeout=30):
    """One request to `prefix` + `path` (already percent-encoded where needed)."""
    return inst.api.request(method, prefix + path, token=user.token, headers=headers,
                            data=body, timeout=timeout)


def quote(path):
    return urllib.parse.quote(path, safe="/")


def propfind(inst, user, path, depth="1", body=None, prefix="/dav"):
    return dav(inst, user, "PROPFIND", path, body=body, headers={"Depth": depth}, prefix=prefix)


def multistatus(resp):
    """{decoded href: {prop tag: (status line, element)}} of a 207 answer."""
    assert resp.status_code == 207, f"{resp.status_code} {resp.text[:300]}"
    root = ET.fromstring(resp.content)
    assert root.tag == DAV + "multistatus", root.tag
    out = {}
    for r in root.findall(DAV + "response"):
        href = urllib.parse.unquote(r.find(DAV + "href").text)
        props = {}
        for ps in r.findall(DAV + "propstat"):
            status = ps.find(DAV + "status").text
            for p in ps.find(DAV + "prop"):
                props[p.tag] = (status, p)
        out[href] = props
    return out


def prop_text(props, name, ns=DAV):
    status, el = props[ns + name]
    assert " 200 " in status, (name, status)
    return el.text


def destination(inst, path, prefix="/dav"):
    return inst.api.base_url + prefix + quote(path)
