// UploadSession: one upload as the client drives it — a header, then the
// file's bytes, then (for a form whose `file` part precedes its `path` part)
// the tree path, then the commit. It checks the order of those steps and
// that the bytes match the declared size, and hands the work to an Upload
// (file_service.h): a plain Files API file, or one placed at a tree path.
//
// Placing at a path is the tree's job (tree/tree_service.h implements
// UploadPlacement); storage only knows that interface, so the dependency
// runs one way: the tree depends on storage, never the reverse. The tree
// also checks and normalises the path (UploadPlacement::UploadPath), once
// per upload; the session keeps what it answers.
//
// Error messages name the upload ("upload 'a.txt': data after the path");
// every error is kInvalidArgument unless the Upload's own (quota, disk,
// path conflicts) passes through. After an error the caller calls Abort (or
// destroys the session): nothing of the file is kept.
//
// Not thread-safe: one thread drives a session. The FileService and the
// UploadPlacement must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "daemon/storage/file_service.h"

namespace nexus::daemon::storage {

// The destination of an upload whose path arrives after its bytes (a form
// whose `file` part precedes its `path` part). Not thread-safe: the one
// thread driving the upload sets it before Commit.
class LatePath {
 public:
  // Keeps `path`, as UploadPlacement::UploadPath returned it; the root
  // folder is kInvalidArgument (a file cannot replace it). Once only.
  Status Set(std::string path);
  bool has_value() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;  // normalised; empty until Set
};

// The MD5 of an S3 multipart part, which the gateway computed while the
// bytes went by and sends after them. Not thread-safe, as LatePath.
class PartMd5 {
 public:
  // Keeps `hex` (32 lowercase hex digits, else kInvalidArgument). Once only.
  Status Set(std::string hex);
  bool has_value() const { return !hex_.empty(); }
  const std::string& hex() const { return hex_; }

 private:
  std::string hex_;
};

// Starting uploads that end at a tree path; see TreeService for what each
// does. `file_name` is what the client sent.
class UploadPlacement {
 public:
  virtual ~UploadPlacement() = default;
  // The normal form of `path` (what the client sent) as the destination of
  // an upload of `owner`'s, or why it cannot be one (kInvalidArgument).
  virtual Result<std::string> UploadPath(const std::string& owner, std::string_view path) = 0;
  // Starts an upload to `path`, which UploadPath returned.
  virtual Result<std::unique_ptr<Upload>> BeginUploadAt(const std::string& owner,
                                                        const std::string& path,
                                                        int64_t declared_size) = 0;
  virtual Result<std::unique_ptr<Upload>> BeginUploadPathLater(
      const std::string& owner, std::string_view file_name, int64_t declared_size,
      std::shared_ptr<const LatePath> destination) = 0;
  // Starts part `part_number` of multipart upload `upload_id` to `path`
  // (which UploadPath returned); its commit needs `md5` set.
  virtual Result<std::unique_ptr<Upload>> BeginPartUpload(const std::string& owner,
                                                          const std::string& path,
                                                          const std::string& upload_id,
                                                          int part_number, int64_t declared_size,
                                                          std::shared_ptr<const PartMd5> md5) = 0;
};

// What the client announces before the bytes.
struct UploadHeader {
  std::string owner;
  std::string file_name;       // as the client sent it; reduced to a safe base name
  std::string vfs_path;        // empty: a Files API upload; else the tree path
  int64_t declared_size = -1;  // -1 when unknown
  // The tree path arrives after the bytes (SetPath); excludes vfs_path.
  bool path_follows = false;
  // A part of this multipart upload to vfs_path (then part_number is 1 to
  // 10000); its MD5 follows the bytes (SetPartMd5). Excludes path_follows.
  std::string multipart_upload_id;
  int part_number = 0;
};

class UploadSession {
 public:
  // Checks `header` and starts the upload: in `files` when it names no
  // path, through `placement` otherwise (null: kUnimplemented, this server
  // keeps no tree).
  static Result<std::unique_ptr<UploadSession>> Begin(FileService& files,
                                                      UploadPlacement* placement,
                                                      const UploadHeader& header);

  UploadSession(const UploadSession&) = delete;
  UploadSession& operator=(const UploadSession&) = delete;

  // The next bytes of the file; refused once the late path arrived.
  Status Write(std::string_view data);
  // The same without a copy, for bytes received as a list of slices (one
  // message's payload, in order): see Upload::WriteShared for how long
  // `owner` is kept.
  Status WriteShared(std::span<const std::string_view> pieces,
                     const std::shared_ptr<const void>& owner);
  // The tree path of a path_follows upload, after its last bytes.
  Status SetPath(std::string_view path);
  // The S3 ETag to keep with the file, after its last bytes: 32 lowercase
  // hex digits, maybe with "-N" (a multipart object's part count). A
  // multipart part needs one, its MD5 (no "-N").
  Status SetS3Etag(std::string_view etag);
  // Checks that every declared byte and the late path arrived, then stores
  // the file. On error nothing is kept.
  Result<FileRecord> Commit();
  // Gives up; idempotent; a no-op after Commit.
  void Abort();

  const std::string& name() const { return upload_->name(); }
  int64_t bytes_written() const { return upload_->bytes_written(); }
  // The normalised tree path of the file ("" for a Files API upload); for a
  // path_follows upload, known once SetPath succeeded.
  const std::string& vfs_path() const;

 private:
  // `placement` checks the late path: set with `late_path` only.
  UploadSession(std::unique_ptr<Upload> upload, std::string vfs_path,
                std::shared_ptr<LatePath> late_path, UploadPlacement* placement,
                const UploadHeader& header, std::shared_ptr<PartMd5> part_md5 = nullptr)
      : upload_(std::move(upload)),
        vfs_path_(std::move(vfs_path)),
        late_path_(std::move(late_path)),
        part_md5_(std::move(part_md5)),
        placement_(placement),
        owner_(header.owner),
        declared_size_(header.declared_size) {}

  Status Refuse(std::string_view why) const;

  std::unique_ptr<Upload> upload_;
  const std::string vfs_path_;                 // normalised; empty for a late or no path
  const std::shared_ptr<LatePath> late_path_;  // set for a path_follows upload
  const std::shared_ptr<PartMd5> part_md5_;    // set for a multipart part
  UploadPlacement* const placement_;           // set for a path_follows upload
  const std::string owner_;
  const int64_t declared_size_;
  bool etag_set_ = false;  // no data may follow it
};

}  // namespace nexus::daemon::storage
