#include "gateway/api/upload_stream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "gateway/formats/multipart.h"
#include "gateway/formats/utf8.h"

namespace nexus::gateway {
namespace {

// Bytes asked of the socket per read: large enough to fill a message in a
// few reads, small enough to keep the per-upload footprint low.
constexpr size_t kReadBytes = 256 * 1024;
// A `path` part longer than this is not a path (nexusd allows 4096).
constexpr size_t kMaxPathPartBytes = 8 * 1024;

// For requests whose body is already in memory (unit tests, Pipeline::Handle).
class StringBodyReader final : public BodyReader {
 public:
  explicit StringBodyReader(std::string_view body) : rest_(body) {}
  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override {
    const size_t n = std::min(buf.size(), rest_.size());
    std::memcpy(buf.data(), rest_.data(), n);
    rest_.remove_prefix(n);
    co_return n;
  }

 private:
  std::string_view rest_;
};

std::string_view MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  const size_t b = t.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const size_t e = t.find_last_not_of(" \t");
  return t.substr(b, e - b + 1);
}

enum class PartKind { kFile, kPath, kOther };

}  // namespace

asio::awaitable<Result<daemonpb::FileInfo>> StreamUpload(DaemonClient& daemon, Request& req,
                                                         UploadOptions options) {
  const std::string& owner = req.principal.username;
  if (owner.empty()) co_return InternalError("upload reached without authentication");
  const std::string_view content_type = req.headers.Get("Content-Type");
  // A 400 like every other malformed upload (what the Files API promises),
  // not the 415 of the JSON routes.
  if (!EqualsIgnoreCase(MediaType(content_type), "multipart/form-data")) {
    co_return InvalidArgumentError("upload: Content-Type must be multipart/form-data");
  }
  Result<MultipartParser> created = MultipartParser::Create(content_type);
  if (!created.ok()) co_return created.status().WithContext("upload");
  MultipartParser parser = std::move(created).value();

  StringBodyReader in_memory(req.body);
  BodyReader& body = req.body_reader ? *req.body_reader : in_memory;

  std::optional<std::string> path = options.vfs_path;
  std::string path_part;
  bool path_part_seen = false;
  std::unique_ptr<UploadCall> call;  // destroyed unfinished: cancelled
  bool file_seen = false;
  bool path_follows = false;  // the call's header said the path comes last
  PartKind current = PartKind::kOther;
  std::vector<char> buf(kReadBytes);
  std::string pending;
  pending.reserve(kUploadMessageBytes + kReadBytes);
  auto last_sent = std::chrono::steady_clock::now();  // the last data message (or the call's start)

  for (;;) {
    Result<MultipartEvent> ev = parser.Next();
    if (!ev.ok()) co_return ev.status().WithContext("upload");
    switch (ev->type) {
      case MultipartEventType::kNeedMore: {
        Result<size_t> n = co_await body.Read(std::span<char>(buf));
        if (!n.ok()) co_return n.status().WithContext("upload");
        if (*n == 0) {
          parser.FinishInput();
        } else {
          parser.Feed(std::string_view(buf.data(), *n));
        }
        break;
      }
      case MultipartEventType::kPartBegin: {
        const MultipartPart& part = *ev->part;
        if (part.name == "file") {
          if (file_seen) co_return InvalidArgumentError("upload: more than one 'file' part");
          file_seen = true;
          current = PartKind::kFile;
          daemonpb::UploadHeader header;
          header.set_owner(owner);
          header.set_file_name(ToValidUtf8(part.filename.value_or("")));
          if (options.needs_path) {
            if (!path) {
              // A `path` part may still follow the file.
              path_follows = true;
              header.set_path_follows(true);
            } else if (path->empty()) {
              // nexusd reads an empty vfs_path as a raw Files API upload.
              co_return InvalidArgumentError("upload: the path is empty");
            } else {
              header.set_vfs_path(*path);
            }
          }
          // The multipart Content-Length is not the file's size; nexusd
          // counts what arrives.
          header.set_declared_size(-1);
          NEXUS_CO_ASSIGN_OR_RETURN(std::unique_ptr<UploadCall> started,
                                    co_await daemon.StartUpload(std::move(header)));
          call = std::move(started);
          last_sent = std::chrono::steady_clock::now();
        } else if (part.name == "path" && options.needs_path) {
          if (path_part_seen) co_return InvalidArgumentError("upload: more than one 'path' part");
          path_part_seen = true;
          current = PartKind::kPath;
          path_part.clear();
        } else {
          current = PartKind::kOther;
        }
        break;
      }
      case MultipartEventType::kPartData:
        if (current == PartKind::kFile) {
          pending.append(ev->data);
          const auto now = std::chrono::steady_clock::now();
          if (pending.size() >= kUploadMessageBytes || now - last_sent >= options.flush_after) {
            Status s = co_await call->Write(&pending);
            if (!s.ok()) co_return s;
            last_sent = now;
          }
        } else if (current == PartKind::kPath) {
          if (path_part.size() + ev->data.size() > kMaxPathPartBytes) {
            co_return InvalidArgumentError("upload: the 'path' part is too long");
          }
          path_part.append(ev->data);
        }
        break;
      case MultipartEventType::kPartEnd:
        if (current == PartKind::kFile && !pending.empty()) {
          Status s = co_await call->Write(&pending);
          if (!s.ok()) co_return s;
        } else if (current == PartKind::kPath) {
          if (options.vfs_path && *options.vfs_path != path_part) {
            co_return InvalidArgumentError(
                "upload: the 'path' part and the path query parameter differ");
          }
          path = std::move(path_part);
          path_part.clear();
        }
        current = PartKind::kOther;
        break;
      case MultipartEventType::kDone: {
        if (!call) {
          if (options.needs_path && !path) {
            co_return InvalidArgumentError("upload: missing 'path' and 'file' parts");
          }
          co_return InvalidArgumentError("upload: missing 'file' part");
        }
        if (path_follows) {
          if (!path) co_return InvalidArgumentError("upload: missing 'path' part");
          if (path->empty()) co_return InvalidArgumentError("upload: the path is empty");
          Status s = co_await call->SendPath(*path);
          if (!s.ok()) co_return s;
        }
        co_return co_await call->Finish();
      }
    }
  }
}

}  // namespace nexus::gateway
