// The bucket operations and the listings: buckets are top-level folders,
// and a listing walks the bucket's folders below the prefix's deepest one.
#include <algorithm>
#include <charconv>

#include "gateway/s3/s3_listing.h"
#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"

namespace nexus::gateway::s3 {
namespace {

// S3's rules for new bucket names: 3-63 of [a-z0-9.-], starting and ending
// with a letter or digit.
bool ValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// Every file below `folder` (a path below the bucket, "" for the bucket
// itself), with its key, in no particular order.
asio::awaitable<Result<std::vector<ObjectEntry>>> WalkKeys(S3Call& call, std::string folder) {
  std::vector<ObjectEntry> out;
  std::vector<std::string> pending{std::move(folder)};
  while (!pending.empty()) {
    std::string dir = std::move(pending.back());
    pending.pop_back();
    daemonpb::ListDirectoryRequest list;
    list.set_owner(call.owner);
    list.set_path(BucketPath(call) + (dir.empty() ? "" : "/" + dir));
    Result<daemonpb::ListDirectoryResponse> listed = co_await call.daemon.ListDirectory(list);
    if (!listed.ok()) {
      // A prefix naming no folder lists nothing.
      if (listed.status().code() == StatusCode::kNotFound && !dir.empty()) continue;
      co_return listed.status();
    }
    for (const daemonpb::DirEntry& e : listed->entries()) {
      std::string key = dir.empty() ? e.name() : dir + "/" + e.name();
      if (IsFolder(e)) {
        pending.push_back(std::move(key));
      } else {
        out.push_back(ObjectEntry{std::move(key), e.size(), e.modified(), EtagOf(e)});
      }
    }
  }
  co_return out;
}

const std::string* Query(const Request& req, std::string_view name) { return req.QueryParam(name); }

}  // namespace

asio::awaitable<Response> GetBucketVersioning(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) {
    co_return Fail(call, *missing);
  }
  co_return XmlResponse(VersioningXml());
}

asio::awaitable<Response> ListBuckets(S3Call& call) {
  daemonpb::ListDirectoryRequest list;
  list.set_owner(call.owner);
  list.set_path("/");
  Result<daemonpb::ListDirectoryResponse> listed = co_await call.daemon.ListDirectory(list);
  if (!listed.ok()) co_return Fail(call, ErrorOf(listed.status(), NoSuchBucket()));
  std::vector<BucketInfo> buckets;
  for (const daemonpb::DirEntry& e : listed->entries()) {
    // A folder whose name S3 clients cannot address is no bucket.
    if (IsFolder(e) && ValidBucketName(e.name())) buckets.push_back({e.name(), e.modified()});
  }
  std::sort(buckets.begin(), buckets.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
  co_return XmlResponse(ListBucketsXml(call.owner_id, call.owner, buckets));
}

asio::awaitable<Response> CreateBucket(S3Call& call) {
  if (!ValidBucketName(call.bucket)) {
    co_return Fail(call,
                   MakeS3Error(400, "InvalidBucketName", "The specified bucket is not valid."));
  }
  Result<std::optional<daemonpb::DirEntry>> entry =
      co_await StatEntry(call.daemon, call.owner, BucketPath(call));
  if (!entry.ok()) co_return Fail(call, ErrorOf(entry.status(), NoSuchBucket()));
  if (*entry) {
    co_return Fail(
        call, IsFolder(**entry)
                  ? MakeS3Error(409, "BucketAlreadyOwnedByYou",
                                "Your previous request to create the named bucket "
                                "succeeded and you already own it.")
                  : MakeS3Error(409, "BucketAlreadyExists", "A file of that name is in the way."));
  }
  daemonpb::MakeDirectoryRequest mk;
  mk.set_owner(call.owner);
  mk.set_path(BucketPath(call));
  Result<daemonpb::MakeDirectoryResponse> made = co_await call.daemon.MakeDirectory(mk);
  if (!made.ok()) co_return Fail(call, ErrorOf(made.status(), NoSuchBucket()));
  Response r;
  r.headers.Set("Location", "/" + call.bucket);
  co_return r;
}

asio::awaitable<Response> HeadBucket(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) {
    co_return Fail(call, *missing);
  }
  Response r;
  r.headers.Set("x-amz-bucket-region", call.region);
  co_return r;
}

asio::awaitable<Response> GetBucketLocation(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) {
    co_return Fail(call, *missing);
  }
  co_return XmlResponse(LocationXml(call.region));
}

asio::awaitable<Response> DeleteBucket(S3Call& call) {
  daemonpb::ListDirectoryRequest list;
  list.set_owner(call.owner);
  list.set_path(BucketPath(call));
  Result<daemonpb::ListDirectoryResponse> listed = co_await call.daemon.ListDirectory(list);
  if (!listed.ok()) co_return Fail(call, ErrorOf(listed.status(), NoSuchBucket()));
  if (listed->entries_size() > 0) {
    co_return Fail(
        call, MakeS3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty"));
  }
  daemonpb::DeletePathRequest del;
  del.set_owner(call.owner);
  del.set_path(BucketPath(call));
  Result<daemonpb::DeletePathResponse> done = co_await call.daemon.DeletePath(del);
  if (!done.ok()) co_return Fail(call, ErrorOf(done.status(), NoSuchBucket()));
  Response r;
  r.status = 204;
  co_return r;
}

asio::awaitable<Response> ListObjects(S3Call& call, ListKind kind) {
  const Request& req = call.req;
  const bool v2 = kind == ListKind::kV2;
  ListEcho echo;
  echo.kind = kind;
  echo.bucket = call.bucket;
  ListParams params;
  if (const std::string* p = Query(req, "prefix")) params.prefix = echo.prefix = *p;
  if (const std::string* d = Query(req, "delimiter")) params.delimiter = echo.delimiter = *d;
  if (const std::string* m = Query(req, "max-keys")) {
    int64_t n = -1;
    auto [end, ec] = std::from_chars(m->data(), m->data() + m->size(), n);
    if (ec != std::errc() || end != m->data() + m->size() || n < 0) {
      co_return Fail(call, MakeS3Error(400, "InvalidArgument", "max-keys must be a number >= 0"));
    }
    params.max_keys = std::min<int64_t>(n, 1000);
  }
  echo.max_keys = params.max_keys;
  if (const std::string* e = Query(req, "encoding-type")) {
    if (*e != "url") {
      co_return Fail(call, MakeS3Error(400, "InvalidArgument", "Invalid Encoding Method"));
    }
    echo.url_encoded = true;
  }
  if (v2) {
    if (const std::string* s = Query(req, "start-after")) params.after = echo.start_after = *s;
    if (const std::string* t = Query(req, "continuation-token")) {
      echo.continuation = *t;
      if (!DecodeContinuationToken(*t, &params.after)) {
        co_return Fail(call, MakeS3Error(400, "InvalidArgument",
                                         "The continuation token provided is incorrect"));
      }
    }
  } else if (const std::string* m =
                 Query(req, kind == ListKind::kVersions ? "key-marker" : "marker")) {
    params.after = echo.marker = *m;
  }

  if (std::optional<S3Error> missing = co_await CheckBucket(call)) {
    co_return Fail(call, *missing);
  }
  // Only the folder the prefix is certainly inside is walked.
  const std::size_t slash = params.prefix.rfind('/');
  std::string start = slash == std::string::npos ? "" : params.prefix.substr(0, slash);
  Result<std::vector<ObjectEntry>> keys = co_await WalkKeys(call, std::move(start));
  if (!keys.ok()) co_return Fail(call, ErrorOf(keys.status(), NoSuchBucket()));
  std::sort(keys->begin(), keys->end(),
            [](const ObjectEntry& a, const ObjectEntry& b) { return a.key < b.key; });
  ListPage page = ListKeys(*keys, params);
  if (v2 && page.truncated) echo.next_continuation = EncodeContinuationToken(page.last);
  if (kind == ListKind::kVersions) {
    co_return XmlResponse(ListVersionsXml(echo, page, call.owner_id, call.owner));
  }
  co_return XmlResponse(ListObjectsXml(echo, page));
}

}  // namespace nexus::gateway::s3
