"""Uploads and the chunk store on disk: a multipart body streamed from its
parts, an upload of one, random files, streamed downloads hashed as they
arrive, and the files of an instance's chunk store.
"""

import hashlib
import os
import secrets

import backends


class MultipartBody:
    """A multipart/form-data body streamed from its parts, never held whole.

    parts: (name, filename or None, source) in order; source is bytes, or a
    path whose file is read as the body streams out. filename_star, when given
    for a part as a 4th element, adds an RFC 5987 filename*= parameter (the
    raw bytes of a name such as "a\\r\\nb" cannot travel in filename="...").
    requests sends it with a Content-Length (it has __len__) and reads it with
    read(n), so even a 200 MiB file costs one block of memory.
    """

    def __init__(self, parts, boundary=None):
        self.boundary = boundary or "e2e-" + secrets.token_hex(12)
        self._segments = []
        for part in parts:
            name, filename, source = part[:3]
            filename_star = part[3] if len(part) > 3 else None
            disp = f'form-data; name="{name}"'
            if filename is not None:
                disp += f'; filename="{filename}"'
            if filename_star is not None:
                disp += "; filename*=UTF-8''" + _rfc5987_quote(filename_star)
            head = f"--{self.boundary}\r\nContent-Disposition: {disp}\r\n"
            if filename is not None or filename_star is not None:
                head += "Content-Type: application/octet-stream\r\n"
            self._segments.append(head.encode() + b"\r\n")
            self._segments.append(source)
            self._segments.append(b"\r\n")
        self._segments.append(f"--{self.boundary}--\r\n".encode())
        self._length = sum(len(s) if isinstance(s, bytes) else os.path.getsize(s)
                           for s in self._segments)
        self._index = 0
        self._file = None

    @property
    def content_type(self):
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self):
        return self._length

    def read(self, n=-1):
        n = 1 << 20 if n is None or n < 0 else n
        while self._index < len(self._segments):
            seg = self._segments[self._index]
            if isinstance(seg, bytes):
                self._index += 1
                if seg:
                    return seg
                continue
            if self._file is None:
                self._file = open(seg, "rb")
            data = self._file.read(n)
            if data:
                return data
            self._file.close()
            self._file = None
            self._index += 1
        return b""

    def to_bytes(self):
        """The whole body (small bodies only)."""
        return b"".join(self.chunks())

    def chunks(self, size=1 << 20):
        """The same bytes as a generator (requests then sends them chunked)."""
        while True:
            data = self.read(size)
            if not data:
                return
            yield data


def _rfc5987_quote(text):
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        out.append(c if c.isascii() and (c.isalnum() or c in "!#$&+-.^_`|~") else f"%{b:02X}")
    return "".join(out)


def upload(api, token, route, parts, timeout=60):
    """POSTs a MultipartBody of `parts` to `route` (e.g. /api/files/upload)."""
    body = MultipartBody(parts)
    return api.post(route, token=token, data=body, timeout=timeout,
                    headers={"Content-Type": body.content_type})


def random_file(directory, size, name="blob"):
    """Writes `size` random bytes to directory/name in 1 MiB steps; returns (path, sha256 hex)."""
    path = os.path.join(directory, name)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(left, 1 << 20))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return path, digest.hexdigest()


def download_sha256(api, token, path, timeout=120):
    """Streams GET `path` and returns (response, sha256 hex of the body, byte count)."""
    digest = hashlib.sha256()
    count = 0
    with api.get(path, token=token, stream=True, timeout=timeout) as r:
        if r.status_code == 200:
            for block in r.iter_content(1 << 20):
                digest.update(block)
                count += len(block)
        else:
            r.content  # noqa: B018 - reads the error body while the connection is open
    return r, digest.hexdigest(), count


def chunk_paths(inst):
    """Paths of the files in the instance's chunk store (<data_dir>/chunks),
    temp files included (an empty set when it does not exist)."""
    backends.require_local_store(inst, "chunk_paths")
    root = os.path.join(inst.data_dir, "chunks")
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


def local_chunk_files(inst):
    """Files in the instance's own chunk directory, whatever its [storage]
    chunks says (0 when it does not exist)."""
    root = os.path.join(inst.data_dir, "chunks")
    return sum(len(files) for _, _, files in os.walk(root))


def chunk_count(inst):
    """Files in the instance's chunk store, temp files included (objects in
    its bucket when its chunks are on S3)."""
    remote = backends.chunk_count(inst)
    return remote if remote is not None else len(chunk_paths(inst))
