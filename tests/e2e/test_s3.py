"""The S3 API on its own listener, driven with boto3 (Debian's python3-boto3)
and awscli: buckets are a user's top-level folders and keys the paths below
them, so what S3 puts the tree shows and the other way round. Every request
is signed with an access key from /api/s3-keys; a bad signature, an unknown
key, or another user's bucket gets S3's XML errors."""

import base64
import datetime
import hashlib
import hmac
import os
import subprocess
import zlib

import pytest
import requests

from fs_routes import get as fs_get, mkdir, put_ok as fs_put_ok, usage as fs_usage
from harness import registered_user, skip_or_fail, unique

def s3_key(nexus, user):
    r = nexus.api.post("/api/s3-keys", token=user.token)
    assert r.status_code == 201, r.text
    return r.json()


def client(nexus, access_key, secret_key):
    # Imported here, not at collection: boto3 adds tens of MiB to the pytest
    # process, which every test's forked children would then start from.
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        skip_or_fail("python3-boto3 is not installed (scripts/install-deps.sh)")
    # s3v4 said outright: botocore 1.29 presigns with SigV2 otherwise.
    return boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{nexus.s3_port}", region_name="us-east-1",
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


@pytest.fixture
def s3user(nexus):
    user = registered_user(nexus, "s3")
    key = s3_key(nexus, user)
    user.s3 = client(nexus, key["access_key"], key["secret_key"])
    user.s3_key = key
    yield user
    # Everything the test made goes with the user's buckets.
    for b in user.s3.list_buckets()["Buckets"]:
        nexus.api.request("DELETE", "/api/fs/delete", token=user.token,
                          params={"path": "/" + b["Name"]})


def client_error():
    from botocore.exceptions import ClientError
    return ClientError


def bucket_name(prefix="b"):
    return unique(prefix).lower().replace("_", "-")[:63]


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_buckets_are_top_level_folders(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    entries = nexus.api.get("/api/fs/ls", token=s3user.token, params={"path": "/"}).json()
    assert (name, "folder") in [(e["name"], e["type"]) for e in entries]
    with pytest.raises(client_error()) as e:
        s3.create_bucket(Bucket=name)
    assert error_code(e) == "BucketAlreadyOwnedByYou"

    s3.put_object(Bucket=name, Key="x", Body=b"1")
    with pytest.raises(client_error()) as e:
        s3.delete_bucket(Bucket=name)
    assert error_code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="x")
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(client_error()) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client_error()) as e:
        s3.list_objects_v2(Bucket=name)
    assert error_code(e) == "NoSuchBucket"


def test_objects_round_trip_with_range_etag_and_errors(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    data = os.urandom(300_000)
    put = s3.put_object(Bucket=name, Key="dir/sub/obj.bin", Body=data)
    got = s3.get_object(Bucket=name, Key="dir/sub/obj.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == put["ETag"]
    assert got["ContentLength"] == len(data)
    head = s3.head_object(Bucket=name, Key="dir/sub/obj.bin")
    assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]
    # Conditions on the ETag and the time.
    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=name, Key="dir/sub/obj.bin", IfNoneMatch=put["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=name, Key="dir/sub/obj.bin", IfMatch='"0123"')
    assert error_code(e) == "PreconditionFailed"
    assert s3.get_object(Bucket=name, Key="dir/sub/obj.bin",
                         IfMatch=put["ETag"])["Body"].read() == data
    with pytest.raises(client_error()) as e:
        s3.head_object(Bucket=name, Key="dir/sub/obj.bin", IfModifiedSince=head["LastModified"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    part = s3.get_object(Bucket=name, Key="dir/sub/obj.bin", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=name, Key="dir/sub/obj.bin", Range=f"bytes={len(data)}-")
    assert error_code(e) == "InvalidRange"

    # Content-MD5 checked: right passes, wrong is BadDigest and keeps nothing.
    md5 = base64.b64encode(hashlib.md5(b"hello").digest()).decode()
    s3.put_object(Bucket=name, Key="md5ok", Body=b"hello", ContentMD5=md5)
    with pytest.raises(client_error()) as e:
        s3.put_object(Bucket=name, Key="md5bad", Body=b"hellO", ContentMD5=md5)
    assert error_code(e) == "BadDigest"
    with pytest.raises(client_error()) as e:
        s3.head_object(Bucket=name, Key="md5bad")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=name, Key="nope")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=bucket_name("missing"), Key="nope")
    assert error_code(e) == "NoSuchBucket"

    # A key below an object, or ending in '/', is refused, not half-done.
    with pytest.raises(client_error()) as e:
        s3.put_object(Bucket=name, Key="md5ok/below", Body=b"x")
    assert error_code(e) == "XNexusParentIsObject"
    with pytest.raises(client_error()) as e:
        s3.put_object(Bucket=name, Key="folder/", Body=b"")
    assert error_code(e) == "XNexusInvalidKey"

    s3.delete_object(Bucket=name, Key="dir/sub/obj.bin")
    s3.delete_object(Bucket=name, Key="dir/sub/obj.bin")  # absent: still 204
    with pytest.raises(client_error()) as e:
        s3.head_object(Bucket=name, Key="dir/sub/obj.bin")
    # The folders the key alone kept are gone too.
    entries = nexus.api.get("/api/fs/ls", token=s3user.token, params={"path": "/" + name}).json()
    assert [e["name"] for e in entries] == ["md5ok"]


def test_etag_is_the_md5_and_metadata_comes_back_as_it_was_put(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    data = os.urandom(200_000)
    put = s3.put_object(Bucket=name, Key="m/doc.txt", Body=data, ContentType="text/plain",
                        CacheControl="max-age=60", ContentDisposition='attachment; filename="d.txt"',
                        Metadata={"Colour": "blue", "note": "a & <b>"})
    assert put["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    for answer in (s3.head_object(Bucket=name, Key="m/doc.txt"),
                   s3.get_object(Bucket=name, Key="m/doc.txt")):
        assert answer["ETag"] == put["ETag"]
        assert answer["ContentType"] == "text/plain"
        assert answer["CacheControl"] == "max-age=60"
        assert answer["ContentDisposition"] == 'attachment; filename="d.txt"'
        assert answer["Metadata"] == {"colour": "blue", "note": "a & <b>"}
    listed = s3.list_objects_v2(Bucket=name)["Contents"]
    assert [(o["Key"], o["ETag"]) for o in listed] == [("m/doc.txt", put["ETag"])]
    # A presigned GET may ask for other response headers.
    url = s3.generate_presigned_url(
        "get_object", ExpiresIn=60,
        Params={"Bucket": name, "Key": "m/doc.txt", "ResponseContentType": "text/csv"})
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv"

    # A copy takes the metadata along; REPLACE sets new metadata; a copy onto
    # itself must change something.
    s3.copy_object(Bucket=name, Key="m/copy.txt", CopySource={"Bucket": name, "Key": "m/doc.txt"})
    copy = s3.head_object(Bucket=name, Key="m/copy.txt")
    assert copy["ContentType"] == "text/plain" and copy["Metadata"]["colour"] == "blue"
    assert copy["ETag"] == put["ETag"]
    s3.copy_object(Bucket=name, Key="m/copy.txt", CopySource={"Bucket": name, "Key": "m/copy.txt"},
                   MetadataDirective="REPLACE", ContentType="image/png", Metadata={"k": "v"})
    copy = s3.head_object(Bucket=name, Key="m/copy.txt")
    assert copy["ContentType"] == "image/png" and copy["Metadata"] == {"k": "v"}
    with pytest.raises(client_error()) as e:
        s3.copy_object(Bucket=name, Key="m/copy.txt",
                       CopySource={"Bucket": name, "Key": "m/copy.txt"})
    assert error_code(e) == "InvalidRequest"

    # A new PUT replaces the metadata; without any it has none.
    again = s3.put_object(Bucket=name, Key="m/doc.txt", Body=b"plain")
    head = s3.head_object(Bucket=name, Key="m/doc.txt")
    assert head["ETag"] == again["ETag"] == '"' + hashlib.md5(b"plain").hexdigest() + '"'
    assert head["ContentType"] == "binary/octet-stream" and head["Metadata"] == {}

    # Too much user metadata is refused and keeps nothing.
    with pytest.raises(client_error()) as e:
        s3.put_object(Bucket=name, Key="m/big", Body=b"x", Metadata={"a": "v" * 2048})
    assert error_code(e) == "MetadataTooLarge"
    with pytest.raises(client_error()):
        s3.head_object(Bucket=name, Key="m/big")

    # A file written through /api/fs has no MD5: its ETag says so ("-1", as
    # a multipart object's does) instead of posing as one.
    fs_put_ok(nexus, s3user, f"/{name}/m/web.txt", b"from the web")
    web = s3.head_object(Bucket=name, Key="m/web.txt")
    assert web["ETag"].endswith('-1"') and len(web["ETag"]) == 36


def test_an_unversioned_bucket_lists_each_object_as_its_one_version(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    for key in ("a.txt", "d/b.txt", "d/c.txt", "e.txt"):
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    listed = s3.list_object_versions(Bucket=name)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [
        ("a.txt", "null", True), ("d/b.txt", "null", True), ("d/c.txt", "null", True),
        ("e.txt", "null", True)]
    assert listed["Versions"][0]["ETag"] == '"' + hashlib.md5(b"a.txt").hexdigest() + '"'
    assert "DeleteMarkers" not in listed
    page = s3.list_object_versions(Bucket=name, Delimiter="/", MaxKeys=2)
    assert [v["Key"] for v in page["Versions"]] == ["a.txt"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["d/"]
    assert page["IsTruncated"] and page["NextKeyMarker"] == "d/"
    rest = s3.list_object_versions(Bucket=name, Delimiter="/", KeyMarker=page["NextKeyMarker"])
    assert [v["Key"] for v in rest["Versions"]] == ["e.txt"] and not rest["IsTruncated"]
    # What a paginator does, all the way through.
    keys = [v["Key"] for p in s3.get_paginator("list_object_versions").paginate(
        Bucket=name, PaginationConfig={"PageSize": 1}) for v in p.get("Versions", [])]
    assert keys == ["a.txt", "d/b.txt", "d/c.txt", "e.txt"]
    with pytest.raises(client_error()) as e:
        s3.list_object_versions(Bucket=bucket_name("none"))
    assert error_code(e) == "NoSuchBucket"
    # The version a listing names works where a version id is taken; no other does.
    assert s3.get_object(Bucket=name, Key="a.txt", VersionId="null")["Body"].read() == b"a.txt"
    with pytest.raises(client_error()) as e:
        s3.get_object(Bucket=name, Key="a.txt", VersionId="3HL4kqtJlcpXroDTDmJ")
    assert error_code(e) == "InvalidArgument"
    s3.delete_object(Bucket=name, Key="a.txt", VersionId="null")
    with pytest.raises(client_error()):
        s3.head_object(Bucket=name, Key="a.txt")


def test_a_tampered_payload_fails_its_signed_hash(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)

    def tamper(request, **kwargs):
        request.body = b"changed!"
    s3.meta.events.register_first("before-send.s3.PutObject", tamper)
    try:
        with pytest.raises(client_error()) as e:
            s3.put_object(Bucket=name, Key="t", Body=b"original")
        assert error_code(e) == "XAmzContentSHA256Mismatch"
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", tamper)
    with pytest.raises(client_error()):
        s3.head_object(Bucket=name, Key="t")


def test_list_objects_v2_pages_in_byte_order_with_prefix_and_delimiter(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    keys = ["a", "b/1", "b/2", "b/c/3", "c", "\u00e9t\u00e9", "Z", "b0"]
    for k in keys:
        s3.put_object(Bucket=name, Key=k, Body=k.encode())
    want = sorted(keys, key=lambda k: k.encode())

    got, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=name, MaxKeys=3, **kw)
        got += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert got == want

    page = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["Z", "a", "b0", "c", "\u00e9t\u00e9"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/"]
    page = s3.list_objects_v2(Bucket=name, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/c/"]
    page = s3.list_objects_v2(Bucket=name, StartAfter="b/2")
    assert [o["Key"] for o in page["Contents"]] == [k for k in want if k.encode() > b"b/2"]
    page = s3.list_objects(Bucket=name, Prefix="b")
    assert [o["Key"] for o in page["Contents"]] == ["b/1", "b/2", "b/c/3", "b0"]
    assert s3.list_objects_v2(Bucket=name, Prefix="nothing")["KeyCount"] == 0


def test_listings_page_through_folders_in_byte_order_at_every_page_size(nexus, s3user):
    """Keys whose folders sort differently by name ("a") than by key ("a/"
    after "a-b" and "a.txt"), listed a page at a time with and without a
    delimiter, under several prefixes: every combination gives what S3's
    rules give over the sorted keys."""
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    keys = ["a-b", "a.txt", "a/x", "a/y/z", "a/y-1", "a/y.txt", "a0", "ab/c", "b",
            "c/d/e/f", "c/d/g"]
    for k in keys:
        s3.put_object(Bucket=name, Key=k, Body=b"k")

    def expected(prefix, delimiter):
        contents, prefixes = [], []
        for k in sorted(keys, key=lambda k: k.encode()):
            if not k.startswith(prefix):
                continue
            at = k.find(delimiter, len(prefix)) if delimiter else -1
            if at >= 0:
                if k[:at + 1] not in prefixes:
                    prefixes.append(k[:at + 1])
            else:
                contents.append(k)
        return contents, prefixes

    for prefix in ("", "a", "a/", "a/y", "c/d/", "zz"):
        for delimiter in ("", "/"):
            for size in (1, 2, 3, 1000):
                contents, prefixes = [], []
                for page in s3.get_paginator("list_objects_v2").paginate(
                        Bucket=name, Prefix=prefix, Delimiter=delimiter,
                        PaginationConfig={"PageSize": size}):
                    assert len(page.get("Contents", [])) + \
                        len(page.get("CommonPrefixes", [])) <= size
                    contents += [o["Key"] for o in page.get("Contents", [])]
                    prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
                assert (contents, prefixes) == expected(prefix, delimiter), \
                    (prefix, delimiter, size)
            # v1 pages by marker.
            contents = []
            for page in s3.get_paginator("list_objects").paginate(
                    Bucket=name, Prefix=prefix, Delimiter=delimiter,
                    PaginationConfig={"PageSize": 2}):
                contents += [o["Key"] for o in page.get("Contents", [])]
            assert contents == expected(prefix, delimiter)[0], (prefix, delimiter)


def test_copy_is_metadata_only_and_both_faces_see_the_same_files(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    data = os.urandom(70_000)
    s3.put_object(Bucket=name, Key="src/a.bin", Body=data)
    s3.copy_object(Bucket=name, Key="dst/b.bin", CopySource={"Bucket": name, "Key": "src/a.bin"})
    assert s3.get_object(Bucket=name, Key="dst/b.bin")["Body"].read() == data
    with pytest.raises(client_error()) as e:
        s3.copy_object(Bucket=name, Key="x", CopySource={"Bucket": name, "Key": "none"})
    assert error_code(e) == "NoSuchKey"

    # S3 -> /api/fs/download
    r = fs_get(nexus, s3user, f"/{name}/dst/b.bin")
    assert r.status_code == 200 and r.content == data
    # /api/fs/upload -> S3
    mkdir(nexus, s3user, f"/{name}/web")
    fs_put_ok(nexus, s3user, f"/{name}/web/up.txt", b"from the web")
    assert s3.get_object(Bucket=name, Key="web/up.txt")["Body"].read() == b"from the web"


def test_presigned_get_works_until_it_expires(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="p.txt", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p.txt"},
                                    ExpiresIn=60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"presigned"
    r = requests.get(url.replace("p.txt", "q.txt"), timeout=10)
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content


def test_bad_signature_unknown_key_and_deleted_key_are_refused(nexus, s3user):
    key = s3user.s3_key
    bad = client(nexus, key["access_key"], key["secret_key"][:-1] + "x")
    with pytest.raises(client_error()) as e:
        bad.list_buckets()
    assert error_code(e) == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = client(nexus, "NXAAAAAAAAAAAAAAAAAA", key["secret_key"])
    with pytest.raises(client_error()) as e:
        unknown.list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"
    r = requests.get(f"http://127.0.0.1:{nexus.s3_port}/", timeout=10)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content

    other = s3_key(nexus, s3user)
    c = client(nexus, other["access_key"], other["secret_key"])
    c.list_buckets()
    r = nexus.api.request("DELETE", f"/api/s3-keys/{other['id']}", token=s3user.token)
    assert r.status_code == 204
    with pytest.raises(client_error()) as e:
        c.list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"


def test_one_users_key_never_sees_anothers_buckets(nexus, s3user):
    name = bucket_name()
    s3user.s3.create_bucket(Bucket=name)
    s3user.s3.put_object(Bucket=name, Key="secret.txt", Body=b"mine")
    bob = registered_user(nexus, "s3bob")
    bk = s3_key(nexus, bob)
    bob_s3 = client(nexus, bk["access_key"], bk["secret_key"])
    assert name not in [b["Name"] for b in bob_s3.list_buckets()["Buckets"]]
    with pytest.raises(client_error()) as e:
        bob_s3.get_object(Bucket=name, Key="secret.txt")
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(client_error()) as e:
        bob_s3.list_objects_v2(Bucket=name)
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(client_error()) as e:
        bob_s3.copy_object(Bucket=name, Key="x",
                           CopySource={"Bucket": name, "Key": "secret.txt"})
    assert error_code(e) == "NoSuchBucket"
    # Bob's bucket of the same name is his own folder.
    bob_s3.create_bucket(Bucket=name)
    assert bob_s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    bob_s3.delete_bucket(Bucket=name)
    assert s3user.s3.get_object(Bucket=name, Key="secret.txt")["Body"].read() == b"mine"


def test_awscli_lists_and_copies_a_small_file(nexus, s3user, tmp_path):
    aws = "/usr/bin/aws"
    if not os.access(aws, os.X_OK):
        skip_or_fail("awscli is not installed (scripts/install-deps.sh)")
    name = bucket_name()
    s3user.s3.create_bucket(Bucket=name)
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_ACCESS_KEY_ID=s3user.s3_key["access_key"],
               AWS_SECRET_ACCESS_KEY=s3user.s3_key["secret_key"], AWS_PAGER="")
    endpoint = f"http://127.0.0.1:{nexus.s3_port}"
    src = tmp_path / "small.txt"
    src.write_bytes(b"a small file\n" * 100)

    def aws_run(*args):
        r = subprocess.run([aws, "--endpoint-url", endpoint, *args], env=env,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode()

    aws_run("s3", "cp", str(src), f"s3://{name}/cli/small.txt")
    assert "small.txt" in aws_run("s3", "ls", f"s3://{name}/cli/")
    assert name in aws_run("s3", "ls")
    back = tmp_path / "back.txt"
    aws_run("s3", "cp", f"s3://{name}/cli/small.txt", str(back))
    assert back.read_bytes() == src.read_bytes()
    aws_run("s3", "cp", str(src), f"s3://{name}/cli/other.txt")
    aws_run("s3", "rm", "--recursive", f"s3://{name}/cli/")
    assert s3user.s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_delete_objects_removes_many_keys_in_one_request(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    for k in ("d/1", "d/2", "keep"):
        s3.put_object(Bucket=name, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=name, Delete={"Objects": [
        {"Key": "d/1"}, {"Key": "d/2"}, {"Key": "never-there"}]})
    # A key that is not there is deleted all the same, as on S3.
    assert sorted(d["Key"] for d in r["Deleted"]) == ["d/1", "d/2", "never-there"]
    assert "Errors" not in r
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["keep"]
    r = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "keep"}], "Quiet": True})
    assert "Deleted" not in r and "Errors" not in r
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _crc32_b64(data):
    return base64.b64encode((zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")).decode()


def _chunked_put(port, access_key, secret, path, data, chunk=65536, mode="signed", bad=None):
    """A PUT with an aws-chunked body framed and signed the way AWS's SDKs do
    it (no Debian client sends one over HTTP). `mode`: "signed"
    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), "signed-trailer" (the same with a
    CRC32 trailer and its signature) or "unsigned-trailer"
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as the JavaScript SDK sends).
    `bad`: "tamper" changes a data byte after signing, "checksum" sends a
    wrong CRC32, "trailer-signature" a wrong trailer signature."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    signed, trailer = mode != "unsigned-trailer", mode != "signed"
    content_sha = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                   "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[mode]
    headers = {
        "host": f"127.0.0.1:{port}", "x-amz-date": amz_date, "x-amz-content-sha256": content_sha,
        "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    names = sorted(headers)
    creq = "\n".join(["PUT", path, ""] + [f"{n}:{headers[n]}" for n in names] +
                     ["", ";".join(names), content_sha])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), day), "us-east-1"), "s3"),
                "aws4_request")
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    seed = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    body, prev = b"", seed
    empty = hashlib.sha256(b"").hexdigest()
    for c in chunks:
        if signed:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                                 hashlib.sha256(c).hexdigest()])
            prev = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            body += f"{len(c):x};chunk-signature={prev}\r\n".encode()
        else:
            body += f"{len(c):x}\r\n".encode()
        body += c + (b"\r\n" if c or not trailer else b"")
    if trailer:
        crc = "AAAAAA==" if bad == "checksum" else _crc32_b64(data)
        line = f"x-amz-checksum-crc32:{crc}"
        body += (line + "\r\n").encode()
        if signed:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                                 hashlib.sha256((line + "\n").encode()).hexdigest()])
            sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            if bad == "trailer-signature":
                sig = ("1" if sig[0] == "0" else "0") + sig[1:]
            body += f"x-amz-trailer-signature:{sig}\r\n".encode()
        body += b"\r\n"
    if bad == "tamper":
        body = body.replace(b"A", b"B", 1)
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={seed}")
    headers.pop("host")
    return requests.put(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, timeout=30)


def test_an_aws_chunked_upload_is_decoded_and_each_chunk_verified(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    key = s3user.s3_key
    data = os.urandom(200_000) + b"A" * 1000
    r = _chunked_put(nexus.s3_port, key["access_key"], key["secret_key"], f"/{name}/ch.bin", data)
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=name, Key="ch.bin")["Body"].read() == data
    r = _chunked_put(nexus.s3_port, key["access_key"], key["secret_key"], f"/{name}/bad.bin",
                     data, bad="tamper")
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.text
    with pytest.raises(client_error()):
        s3.head_object(Bucket=name, Key="bad.bin")


@pytest.mark.parametrize("mode", ["signed-trailer", "unsigned-trailer"])
def test_an_aws_chunked_upload_with_a_checksum_trailer_is_checked(nexus, s3user, mode):
    """Newer SDKs send a CRC32 in a trailer after the last chunk. A right one
    is answered back; a wrong checksum, a wrong trailer signature or changed
    data leave the object as it was and the usage where it was."""
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="t.bin", Body=b"old verified value")
    key = s3user.s3_key
    data = os.urandom(150_000) + b"A" * 1000
    path = f"/{name}/t.bin"
    used = fs_usage(nexus, s3user)["used_bytes"]
    bads = {"checksum": (400, b"BadDigest"), "tamper": (400, b"BadDigest")}
    if mode == "signed-trailer":
        bads = {"checksum": (400, b"BadDigest"),
                "tamper": (403, b"SignatureDoesNotMatch"),
                "trailer-signature": (403, b"SignatureDoesNotMatch")}
    for bad, (status, code) in bads.items():
        r = _chunked_put(nexus.s3_port, key["access_key"], key["secret_key"], path, data,
                         mode=mode, bad=bad)
        assert r.status_code == status and code in r.content, (bad, r.status_code, r.text)
        assert s3.get_object(Bucket=name, Key="t.bin")["Body"].read() == b"old verified value"
        assert fs_usage(nexus, s3user)["used_bytes"] == used
    r = _chunked_put(nexus.s3_port, key["access_key"], key["secret_key"], path, data, mode=mode)
    assert r.status_code == 200, r.text
    assert r.headers["x-amz-checksum-crc32"] == _crc32_b64(data)
    assert s3.get_object(Bucket=name, Key="t.bin")["Body"].read() == data


def test_a_checksum_header_on_a_put_is_checked(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    r = s3.put_object(Bucket=name, Key="c.txt", Body=b"checked", ChecksumAlgorithm="SHA256")
    sha = base64.b64encode(hashlib.sha256(b"checked").digest()).decode()
    assert r["ChecksumSHA256"] == sha
    # Kept, and answered when asked for, to GET and HEAD of the whole object.
    assert s3.head_object(Bucket=name, Key="c.txt", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha
    got = s3.get_object(Bucket=name, Key="c.txt", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha and got["Body"].read() == b"checked"
    assert "ChecksumSHA256" not in s3.head_object(Bucket=name, Key="c.txt")
    # A copy keeps it, even with new metadata; new content from another face
    # of the tree leaves none that would not match.
    s3.copy_object(Bucket=name, Key="c2.txt", CopySource={"Bucket": name, "Key": "c.txt"},
                   MetadataDirective="REPLACE", ContentType="text/plain")
    c2 = s3.head_object(Bucket=name, Key="c2.txt", ChecksumMode="ENABLED")
    assert c2["ChecksumSHA256"] == sha and c2["ContentType"] == "text/plain"
    fs_put_ok(nexus, s3user, f"/{name}/c.txt", b"rewritten over the files API")
    assert "ChecksumSHA256" not in s3.head_object(Bucket=name, Key="c.txt", ChecksumMode="ENABLED")
    # botocore computes the header from the body; a wrong one needs a raw request.
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "w.txt"})
    r = requests.put(url, data=b"checked", timeout=30,
                     headers={"x-amz-checksum-crc32": _crc32_b64(b"other")})
    assert r.status_code == 400 and b"BadDigest" in r.content, r.text
    with pytest.raises(client_error()):
        s3.head_object(Bucket=name, Key="w.txt")
    r = requests.put(url, data=b"checked", timeout=30,
                     headers={"x-amz-checksum-crc32": _crc32_b64(b"checked")})
    assert r.status_code == 200, r.text
    assert r.headers["x-amz-checksum-crc32"] == _crc32_b64(b"checked")


# ---- multipart uploads ---------------------------------------------------------

MIB = 1 << 20


def aws_cli(s3user, tmp_path, nexus):
    aws = "/usr/bin/aws"
    if not os.access(aws, os.X_OK):
        skip_or_fail("awscli is not installed (scripts/install-deps.sh)")
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_ACCESS_KEY_ID=s3user.s3_key["access_key"],
               AWS_SECRET_ACCESS_KEY=s3user.s3_key["secret_key"], AWS_PAGER="")
    endpoint = f"http://127.0.0.1:{nexus.s3_port}"

    def run(*args):
        r = subprocess.run([aws, "--endpoint-url", endpoint, *args], env=env,
                           capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode()
    return run


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))


def test_awscli_copies_100_mib_up_and_down_in_parts(nexus, s3user, tmp_path):
    run = aws_cli(s3user, tmp_path, nexus)
    name = bucket_name()
    s3user.s3.create_bucket(Bucket=name)
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MIB))
    before = fs_usage(nexus, s3user)["used_bytes"]
    run("s3", "cp", str(src), f"s3://{name}/big/big.bin")  # 8 MiB parts: 13 of them
    head = s3user.s3.head_object(Bucket=name, Key="big/big.bin")
    assert head["ContentLength"] == 100 * MIB
    after = fs_usage(nexus, s3user)
    assert after["used_bytes"] - before == 100 * MIB, "the object counts once, parts are gone"
    assert s3user.s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    back = tmp_path / "back.bin"
    run("s3", "cp", f"s3://{name}/big/big.bin", str(back))
    assert sha256_file(back) == sha256_file(src)
    # The tree shows it too, with the whole content's SHA-256.
    entries = nexus.api.get("/api/fs/ls", token=s3user.token,
                            params={"path": f"/{name}/big"}).json()
    assert [(e["name"], e["size"]) for e in entries] == [("big.bin", 100 * MIB)]


def test_boto3_upload_file_with_a_small_threshold_goes_in_parts(nexus, s3user, tmp_path):
    from boto3.s3.transfer import TransferConfig
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    src = tmp_path / "f.bin"
    data = os.urandom(12 * MIB + 12345)
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                         max_concurrency=3)
    s3.upload_file(str(src), name, "up/f.bin", Config=cfg)
    assert s3.get_object(Bucket=name, Key="up/f.bin")["Body"].read() == data
    back = tmp_path / "back.bin"
    s3.download_file(name, "up/f.bin", str(back), Config=cfg)
    assert back.read_bytes() == data


def test_explicit_parts_complete_with_s3s_etag(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1000)]
    up = s3.create_multipart_upload(Bucket=name, Key="k/obj", ContentType="video/mp4",
                                    Metadata={"camera": "front"})
    uid = up["UploadId"]
    etags = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=name, Key="k/obj", UploadId=uid, PartNumber=i, Body=p)
        assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest()
        etags.append(r["ETag"])
    listed = s3.list_parts(Bucket=name, Key="k/obj", UploadId=uid)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == \
        [(i, len(p), e) for i, (p, e) in enumerate(zip(parts, etags), 1)]
    page = s3.list_parts(Bucket=name, Key="k/obj", UploadId=uid, MaxParts=2)
    assert page["IsTruncated"] and [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    uploads = s3.list_multipart_uploads(Bucket=name, Prefix="k/")
    assert [(u["Key"], u["UploadId"]) for u in uploads["Uploads"]] == [("k/obj", uid)]
    assert s3.list_multipart_uploads(Bucket=name, Prefix="other").get("Uploads", []) == []
    done = s3.complete_multipart_upload(
        Bucket=name, Key="k/obj", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i, "ETag": e}
                                   for i, e in enumerate(etags, 1)]})
    assert done["ETag"] == multipart_etag(parts)
    # The object keeps that ETag and the metadata its Create carried.
    head = s3.head_object(Bucket=name, Key="k/obj")
    assert head["ETag"] == done["ETag"] and head["ContentLength"] == sum(map(len, parts))
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"camera": "front"}
    listed = s3.list_objects_v2(Bucket=name, Prefix="k/")["Contents"]
    assert [(o["Key"], o["ETag"]) for o in listed] == [("k/obj", done["ETag"])]
    got = s3.get_object(Bucket=name, Key="k/obj")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(b"".join(parts)).digest()
    with pytest.raises(client_error()) as e:
        s3.list_parts(Bucket=name, Key="k/obj", UploadId=uid)
    assert error_code(e) == "NoSuchUpload"


def test_list_multipart_uploads_pages_with_key_and_upload_id_markers(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    ids = {}
    for key in ("a", "b", "b", "c"):
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket=name, Key=key)["UploadId"])
    first = s3.list_multipart_uploads(Bucket=name, MaxUploads=2)
    assert first["IsTruncated"]
    assert [u["Key"] for u in first["Uploads"]] == ["a", "b"]
    rest = s3.list_multipart_uploads(Bucket=name, KeyMarker=first["NextKeyMarker"],
                                     UploadIdMarker=first["NextUploadIdMarker"])
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c"]
    assert not rest["IsTruncated"]
    after_b = s3.list_multipart_uploads(Bucket=name, KeyMarker="b")
    assert [u["Key"] for u in after_b["Uploads"]] == ["c"]
    for key, uploads in ids.items():
        for uid in uploads:
            s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=uid)
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def fs_usage(nexus, user):
    r = nexus.api.get("/api/fs/usage", token=user.token)
    assert r.status_code == 200, r.text
    return r.json()


def test_abort_gives_the_quota_back_and_leaves_no_key(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    before = fs_usage(nexus, s3user)
    uid = s3.create_multipart_upload(Bucket=name, Key="gone")["UploadId"]
    s3.upload_part(Bucket=name, Key="gone", UploadId=uid, PartNumber=1, Body=os.urandom(6 * MIB))
    s3.upload_part(Bucket=name, Key="gone", UploadId=uid, PartNumber=2, Body=os.urandom(10))
    during = fs_usage(nexus, s3user)
    assert during["used_bytes"] - before["used_bytes"] == 6 * MIB + 10, "parts hold quota"
    s3.abort_multipart_upload(Bucket=name, Key="gone", UploadId=uid)
    assert fs_usage(nexus, s3user) == before
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    with pytest.raises(client_error()) as e:
        s3.upload_part(Bucket=name, Key="gone", UploadId=uid, PartNumber=3, Body=b"x")
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(client_error()) as e:
        s3.abort_multipart_upload(Bucket=name, Key="gone", UploadId=uid)
    assert error_code(e) == "NoSuchUpload"


def test_complete_refuses_small_parts_wrong_etags_and_bad_order(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    uid = s3.create_multipart_upload(Bucket=name, Key="o")["UploadId"]
    small = os.urandom(1 * MIB)
    big = os.urandom(5 * MIB)
    e1 = s3.upload_part(Bucket=name, Key="o", UploadId=uid, PartNumber=1, Body=small)["ETag"]
    e2 = s3.upload_part(Bucket=name, Key="o", UploadId=uid, PartNumber=2, Body=big)["ETag"]

    def complete(parts):
        with pytest.raises(client_error()) as e:
            s3.complete_multipart_upload(
                Bucket=name, Key="o", UploadId=uid,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": t} for n, t in parts]})
        return error_code(e), e.value.response["ResponseMetadata"]["HTTPStatusCode"]

    assert complete([(1, e1), (2, e2)]) == ("EntityTooSmall", 400)
    assert complete([(2, e2), (1, e1)]) == ("InvalidPartOrder", 400)
    assert complete([(1, e2)]) == ("InvalidPart", 400)
    assert complete([(3, e2)]) == ("InvalidPart", 400)
    with pytest.raises(client_error()) as e:
        s3.upload_part(Bucket=name, Key="o", UploadId=uid, PartNumber=10001, Body=b"x")
    assert error_code(e) == "InvalidArgument"
    # Nothing was made; a valid list still completes (the last part may be small).
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    s3.complete_multipart_upload(
        Bucket=name, Key="o", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]})
    assert s3.get_object(Bucket=name, Key="o")["Body"].read() == big


def test_upload_part_copy_takes_an_object_or_a_range(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    src = os.urandom(6 * MIB)
    s3.put_object(Bucket=name, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=name, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=name, Key="dst", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": name, "Key": "src"})
    assert p1["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(src).hexdigest()
    p2 = s3.upload_part_copy(Bucket=name, Key="dst", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": name, "Key": "src"},
                             CopySourceRange="bytes=100-199")
    assert p2["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(src[100:200]).hexdigest()
    with pytest.raises(client_error()) as e:
        s3.upload_part_copy(Bucket=name, Key="dst", UploadId=uid, PartNumber=3,
                            CopySource={"Bucket": name, "Key": "missing"})
    assert error_code(e) == "NoSuchKey"
    s3.complete_multipart_upload(
        Bucket=name, Key="dst", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
                                   {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=name, Key="dst")["Body"].read() == src + src[100:200]


def test_another_users_keys_cannot_touch_my_upload(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    uid = s3.create_multipart_upload(Bucket=name, Key="mine")["UploadId"]
    etag = s3.upload_part(Bucket=name, Key="mine", UploadId=uid, PartNumber=1,
                          Body=b"secret")["ETag"]
    bob = registered_user(nexus, "s3bob")
    bk = s3_key(nexus, bob)
    bob_s3 = client(nexus, bk["access_key"], bk["secret_key"])
    bob_s3.create_bucket(Bucket=name)  # his own folder of that name
    for call in (
        lambda: bob_s3.list_parts(Bucket=name, Key="mine", UploadId=uid),
        lambda: bob_s3.upload_part(Bucket=name, Key="mine", UploadId=uid, PartNumber=2,
                                   Body=b"x"),
        lambda: bob_s3.complete_multipart_upload(
            Bucket=name, Key="mine", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}),
        lambda: bob_s3.abort_multipart_upload(Bucket=name, Key="mine", UploadId=uid),
    ):
        with pytest.raises(client_error()) as e:
            call()
        assert error_code(e) in ("NoSuchUpload", "AccessDenied")
    assert bob_s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    bob_s3.delete_bucket(Bucket=name)
    # Still whole for its owner.
    assert [p["ETag"] for p in s3.list_parts(Bucket=name, Key="mine", UploadId=uid)["Parts"]] \
        == [etag]
    s3.abort_multipart_upload(Bucket=name, Key="mine", UploadId=uid)


def test_complete_does_not_bring_back_a_deleted_bucket(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    uid = s3.create_multipart_upload(Bucket=name, Key="a/b")["UploadId"]
    etag = s3.upload_part(Bucket=name, Key="a/b", UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    s3.delete_bucket(Bucket=name)
    with pytest.raises(client_error()) as e:
        s3.complete_multipart_upload(
            Bucket=name, Key="a/b", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert error_code(e) == "NoSuchBucket"
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_user_may_have_only_so_many_uploads_open(nexus, s3user):
    s3 = s3user.s3
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    ids = [s3.create_multipart_upload(Bucket=name, Key=f"k{i}")["UploadId"] for i in range(1000)]
    with pytest.raises(client_error()) as e:
        s3.create_multipart_upload(Bucket=name, Key="one-more")
    assert error_code(e) == "QuotaExceeded"
    assert "1000 multipart uploads are open" in e.value.response["Error"]["Message"]
    s3.abort_multipart_upload(Bucket=name, Key="k0", UploadId=ids[0])
    s3.create_multipart_upload(Bucket=name, Key="one-more")


def test_virtual_host_addressing_under_the_configured_domain(nexus_factory, tmp_path):
    """With [s3] domain set, http://<bucket>.<domain>/<key> names the bucket
    by its host, as SDKs address a named endpoint by default; path-style
    keeps working. curl signs the requests (SigV4 over the virtual host)
    and resolves the made-up names to 127.0.0.1 itself."""
    domain = "s3.nexus-e2e.test"
    inst = nexus_factory(name="vhost", env={"NEXUS_S3_DOMAIN": domain})
    user = registered_user(inst, "vh")
    key = inst.api.post("/api/s3-keys", token=user.token).json()
    port = inst.s3_port

    def curl(host, path, *args, ok=True):
        r = subprocess.run(
            ["curl", "-sS", "--fail-with-body", "--noproxy", "*",
             "--resolve", f"{host}:{port}:127.0.0.1", "--aws-sigv4", "aws:amz:us-east-1:s3",
             "--user", f"{key['access_key']}:{key['secret_key']}",
             "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", *args, f"http://{host}:{port}{path}"],
            capture_output=True, timeout=30)
        assert (r.returncode == 0) == ok, (host, path, r.stdout, r.stderr)
        return r.stdout

    curl(domain, "/photos", "-X", "PUT")  # path-style on the domain itself
    src = tmp_path / "a b.txt"
    src.write_bytes(b"by host name")
    curl(f"photos.{domain}", "/2024/a%20b.txt", "-T", str(src))
    assert curl(f"photos.{domain}", "/2024/a%20b.txt") == b"by host name"
    listed = curl(f"photos.{domain}", "/?list-type=2&prefix=2024%2F")
    assert b"<Key>2024/a b.txt</Key>" in listed, listed
    assert fs_get(inst, user, "/photos/2024/a b.txt").content == b"by host name"
    assert curl("127.0.0.1", "/photos/2024/a%20b.txt") == b"by host name"
    # A bucket the user does not have is not found, by host as by path.
    assert b"<Code>NoSuchBucket</Code>" in curl(f"other.{domain}", "/x", ok=False)
