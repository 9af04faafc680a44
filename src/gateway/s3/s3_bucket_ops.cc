// The bucket operations and the listings: buckets are top-level folders,
// and a listing walks the bucket's folders below the prefix's deepest one,
// in key order and only as far as its page needs.
#include <algorithm>
#include <charconv>
#include <iterator>

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

// One page of a listing, reading only as much of the tree as it needs.
// The folders are walked in key order (nexusd's ListInKeyOrder: a folder
// sorts as its name and "/"), which yields keys in byte order, a page of
// each folder at a time. The walk starts in the deepest folder the prefix
// names, resumes inside the folders `after` names, collapses a folder into
// one common prefix instead of entering it when the delimiter is "/" (a
// folder with no file below it shows as a prefix too, as a folder marker
// would), and stops once the page is complete or past the prefix.
asio::awaitable<Result<ListPage>> ListPageOf(S3Call& call, const ListParams& params) {
  constexpr int kBatch = 1000;
  struct Frame {
    std::string dir;    // below the bucket, "" for the bucket itself
    std::string after;  // the key order position reached in this folder
    std::vector<daemonpb::DirEntry> batch;
    size_t pos = 0;
    bool done = false;  // no page after `batch`
  };
  ListPager pager(params);
  const std::string& prefix = params.prefix;
  const std::size_t slash = prefix.rfind('/');
  std::vector<Frame> stack(1);
  stack[0].dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
  const std::string base = stack[0].dir.empty() ? "" : stack[0].dir + "/";
  const std::string& after = params.after;
  if (after.starts_with(base)) {
    // Resume where `after` is: in each folder it names, past that folder.
    std::string_view rest = std::string_view(after).substr(base.size());
    for (std::size_t cut = rest.find('/'); cut != std::string_view::npos; cut = rest.find('/')) {
      const std::string name(rest.substr(0, cut));
      stack.back().after = name + "/";
      rest.remove_prefix(cut + 1);
      if (rest.empty()) break;
      stack.push_back(Frame{stack.back().dir.empty() ? name : stack.back().dir + "/" + name});
    }
    if (!rest.empty()) stack.back().after = std::string(rest);
  } else if (after > base) {
    co_return pager.Finish();  // past every key below the prefix's folder
  }
  // Skip the start folder's entries before the prefix's last segment: a
  // position just before it (the prefix check drops the few in between).
  const std::string partial = prefix.substr(base.size());
  if (stack.size() == 1 && !partial.empty() && partial.back() != '\0' && stack[0].after < partial) {
    std::string before = partial;
    before.back() = static_cast<char>(before.back() - 1);
    stack[0].after = std::max(stack[0].after, before);
  }

  while (!stack.empty() && !pager.complete()) {
    Frame& f = stack.back();
    if (f.pos == f.batch.size()) {
      if (f.done) {
        stack.pop_back();
        continue;
      }
      daemonpb::ListDirectoryRequest list;
      list.set_owner(call.owner);
      list.set_path(BucketPath(call) + (f.dir.empty() ? "" : "/" + f.dir));
      list.set_after(f.after);
      list.set_limit(kBatch);
      Result<daemonpb::ListDirectoryResponse> listed = co_await call.daemon.ListDirectory(list);
      if (!listed.ok()) {
        // A prefix naming no folder lists nothing.
        if (listed.status().code() == StatusCode::kNotFound && !f.dir.empty()) {
          stack.pop_back();
          continue;
        }
        co_return listed.status();
      }
      f.batch.assign(std::make_move_iterator(listed->mutable_entries()->begin()),
                     std::make_move_iterator(listed->mutable_entries()->end()));
      f.pos = 0;
      f.done = f.batch.size() < static_cast<size_t>(kBatch);
      if (f.batch.empty()) {
        stack.pop_back();
        continue;
      }
    }
    const daemonpb::DirEntry e = std::move(f.batch[f.pos++]);
    const bool folder = IsFolder(e);
    f.after = e.name() + (folder ? "/" : "");
    std::string key = (f.dir.empty() ? "" : f.dir + "/") + e.name() + (folder ? "/" : "");
    const bool under = key.starts_with(prefix);
    if (!under && !(folder && prefix.starts_with(key))) {
      if (key > prefix) break;  // every later key is past the prefix too
      continue;
    }
    if (!folder) {
      pager.Add(ObjectEntry{std::move(key), e.size(), e.modified(), EtagOf(e)});
    } else if (under && params.delimiter == "/" && key.size() > prefix.size()) {
      pager.Add(ObjectEntry{std::move(key), 0, 0, ""});
    } else {
      key.pop_back();
      stack.push_back(Frame{std::move(key)});  // `f` is not used after this
    }
  }
  co_return pager.Finish();
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
  Result<ListPage> listed = co_await ListPageOf(call, params);
  if (!listed.ok()) co_return Fail(call, ErrorOf(listed.status(), NoSuchBucket()));
  ListPage page = std::move(listed).value();
  if (v2 && page.truncated) echo.next_continuation = EncodeContinuationToken(page.last);
  if (kind == ListKind::kVersions) {
    co_return XmlResponse(ListVersionsXml(echo, page, call.owner_id, call.owner));
  }
  co_return XmlResponse(ListObjectsXml(echo, page));
}

}  // namespace nexus::gateway::s3
