// GET, HEAD and PUT on the DAV tree (a folder's GET is its index page,
// dav_folder_page.h): downloads through the same streamed
// DownloadPath as /api/fs/download, uploads straight into an UploadFile
// call as the body arrives (no multipart, no temp file; nexusd's commit
// replaces an existing file atomically), with the conditional headers of
// RFC 9110 §13 checked against the entry's ETag (its content hash).
#include <charconv>

#include "common/vfs_path.h"
#include "gateway/api/download_stream.h"
#include "gateway/api/upload_stream.h"
#include "gateway/dav/dav_folder_page.h"
#include "gateway/dav/dav_locks.h"
#include "gateway/dav/dav_methods.h"
#include "gateway/dav/dav_props.h"

namespace nexus::gateway::dav {
namespace {

// Bytes asked of the socket per read (as the multipart upload does).
constexpr size_t kReadBytes = 256 * 1024;

// A failed If-Match / If-None-Match (412), or none. GET and HEAD answer a
// matching If-None-Match with 304 instead (ServeDownload, Head).
std::optional<Response> CheckPreconditions(const Request& req,
                                           const std::optional<daemonpb::DirEntry>& entry) {
  const std::string etag = entry && !IsFolder(*entry) ? EtagOf(*entry) : "";
  if (const std::string* im = req.headers.Find("If-Match")) {
    if (!entry || !EtagListMatches(*im, etag)) {
      return DavError(412, "precondition failed: If-Match");
    }
  }
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (const std::string* inm = req.headers.Find("If-None-Match"); inm && !read) {
    if (entry && EtagListMatches(*inm, etag)) {
      return DavError(412, "precondition failed: If-None-Match");
    }
  }
  return std::nullopt;
}

std::optional<int64_t> HeaderNumber(const Request& req, std::string_view name) {
  const std::string* v = req.headers.Find(name);
  if (!v) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

// Streams the request body into `call`, a message per kUploadMessageBytes.
asio::awaitable<Status> StreamBody(Request& req, UploadCall& call) {
  std::vector<char> buf(kReadBytes);
  std::string pending;
  pending.reserve(kUploadMessageBytes + kReadBytes);
  auto last_sent = std::chrono::steady_clock::now();
  if (!req.body_reader) {
    pending = req.body;
    if (!pending.empty()) co_return co_await call.Write(&pending);
    co_return Status::Ok();
  }
  for (;;) {
    Result<size_t> n = co_await req.body_reader->Read(std::span<char>(buf));
    if (!n.ok()) co_return n.status().WithContext("PUT");
    if (*n == 0) break;
    pending.append(buf.data(), *n);
    const auto now = std::chrono::steady_clock::now();
    if (pending.size() >= kUploadMessageBytes || now - last_sent >= kUploadFlushAfter) {
      NEXUS_CO_RETURN_IF_ERROR(co_await call.Write(&pending));
      last_sent = now;
    }
  }
  if (!pending.empty()) NEXUS_CO_RETURN_IF_ERROR(co_await call.Write(&pending));
  co_return Status::Ok();
}

// GET of a folder: an HTML index of its entries (dav_folder_page.h).
asio::awaitable<Result<Response>> GetFolder(DavRequest& r) {
  daemonpb::ListDirectoryRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListDirectoryResponse listed,
                            co_await r.daemon.ListDirectory(std::move(call)));
  const std::vector<daemonpb::DirEntry> entries(listed.entries().begin(), listed.entries().end());
  Response resp;
  resp.status = 200;
  resp.headers.Set("Content-Type", "text/html; charset=utf-8");
  resp.headers.Set("Content-Security-Policy", "default-src 'none'");
  resp.headers.Set("X-Content-Type-Options", "nosniff");
  resp.headers.Set("Cache-Control", "no-store");
  resp.body = FolderPage(r.prefix, r.path, entries);
  co_return resp;
}

// For a 416 answer. A named coroutine (GCC 12, STACK.md).
asio::awaitable<Result<int64_t>> KnownSize(int64_t size) { co_return size; }

}  // namespace

bool EtagListMatches(std::string_view header, std::string_view etag) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = header.substr(pos, comma - pos);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*" && !etag.empty()) return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison
    if (!etag.empty() && tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

asio::awaitable<Result<Response>> Get(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (!entry) co_return DavError(404, "not found");
  if (IsFolder(*entry)) co_return co_await GetFolder(r);
  if (std::optional<Response> failed = CheckPreconditions(r.req, entry)) co_return *failed;
  const std::string etag = EtagOf(*entry);
  if (const std::string* inm = r.req.headers.Find("If-None-Match")) {
    if (EtagListMatches(*inm, etag)) {
      Response unchanged;
      unchanged.status = 304;
      unchanged.headers.Set("ETag", etag);
      co_return unchanged;
    }
  }
  daemonpb::DownloadPathRequest call;
  call.set_owner(r.owner);
  call.set_path(r.path);
  if (auto range = RangeOfRequest(r.req)) SetByteRange(*range, call.mutable_range());
  const int64_t size = entry->size();
  SizeLookup size_of = [size]() { return KnownSize(size); };
  NEXUS_CO_ASSIGN_OR_RETURN(
      Response resp,
      co_await ServeDownload(r.daemon.DownloadPath(std::move(call)), r.req, size_of));
  resp.headers.Set("Last-Modified", HttpDate(entry->modified()));
  if (resp.headers.Has("ETag")) resp.headers.Set("ETag", etag);
  if (resp.status == 200 || resp.status == 206) {
    resp.headers.Set("Content-Type", std::string(ContentTypeOf(entry->name())));
  }
  co_return resp;
}

asio::awaitable<Result<Response>> Head(DavRequest& r) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (!entry) co_return DavError(404, "not found");
  if (std::optional<Response> failed = CheckPreconditions(r.req, entry)) co_return *failed;
  Response resp;
  resp.status = 200;
  resp.headers.Set("Last-Modified", HttpDate(entry->modified()));
  if (IsFolder(*entry)) {
    // A GET of a folder answers its index page (GetFolder).
    resp.headers.Set("Content-Type", "text/html; charset=utf-8");
    co_return resp;
  }
  const std::string etag = EtagOf(*entry);
  resp.headers.Set("ETag", etag);
  if (const std::string* inm = r.req.headers.Find("If-None-Match")) {
    if (EtagListMatches(*inm, etag)) {
      resp.status = 304;
      co_return resp;
    }
  }
  resp.headers.Set("Accept-Ranges", "bytes");
  resp.headers.Set("Content-Type", std::string(ContentTypeOf(entry->name())));
  // The session keeps this Content-Length on a HEAD answer with no body.
  resp.headers.Set("Content-Length", std::to_string(entry->size()));
  co_return resp;
}

asio::awaitable<Result<Response>> Put(DavRequest& r) {
  if (r.path == "/") co_return DavError(405, "PUT onto the root folder");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(r.daemon, r.owner, r.path));
  if (entry && IsFolder(*entry)) co_return DavError(405, "PUT onto a folder");
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> parent,
                            co_await StatEntry(r.daemon, r.owner, VfsParent(r.path)));
  if (!parent || !IsFolder(*parent)) co_return DavError(409, "the parent folder does not exist");
  if (std::optional<Response> failed = CheckPreconditions(r.req, entry)) co_return *failed;
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<Response> locked,
                            co_await CheckWrite(r, OneScope(r.path, false, !entry)));
  if (locked) co_return std::move(*locked);
  if (r.req.headers.Has("Content-Range")) {
    co_return DavError(400, "a PUT with Content-Range is not supported");
  }

  daemonpb::UploadHeader header;
  header.set_owner(r.owner);
  header.set_file_name(SplitVfsPath(r.path).back());
  header.set_vfs_path(r.path);
  header.set_declared_size(HeaderNumber(r.req, "Content-Length").value_or(-1));
  NEXUS_CO_ASSIGN_OR_RETURN(std::unique_ptr<UploadCall> call,
                            co_await r.daemon.StartUpload(std::move(header)));
  // A failure here drops the call unfinished: nexusd keeps nothing.
  NEXUS_CO_RETURN_IF_ERROR(co_await StreamBody(r.req, *call));
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::FileInfo file, co_await call->Finish());

  Response resp;
  resp.status = entry ? 204 : 201;
  resp.headers.Set("ETag", EtagOfHash(file.sha256()));
  if (std::optional<int64_t> mtime = HeaderNumber(r.req, "X-OC-Mtime"); mtime && *mtime > 0) {
    daemonpb::SetModifiedRequest set;
    set.set_owner(r.owner);
    set.set_path(r.path);
    set.set_modified(*mtime);
    Result<daemonpb::SetModifiedResponse> done = co_await r.daemon.SetModified(std::move(set));
    if (done.ok()) resp.headers.Set("X-OC-MTime", "accepted");
  }
  co_return resp;
}

}  // namespace nexus::gateway::dav
