#include "daemon/storage/upload_session.h"

#include <utility>

namespace nexus::daemon::storage {

Status LatePath::Set(std::string path) {
  if (has_value()) return InvalidArgumentError("upload: a second path");
  if (path == "/") return InvalidArgumentError("upload: the path is the root folder");
  path_ = std::move(path);
  return Status::Ok();
}

Status PartMd5::Set(std::string hex) {
  if (has_value()) return InvalidArgumentError("upload: a second part MD5");
  // An MD5 is an S3 ETag without a part count.
  if (hex.size() != 32 || !ValidS3Etag(hex)) {
    return InvalidArgumentError("upload: the part MD5 is not 32 lowercase hex digits");
  }
  hex_ = std::move(hex);
  return Status::Ok();
}

Result<std::unique_ptr<UploadSession>> UploadSession::Begin(FileService& files,
                                                            UploadPlacement* placement,
                                                            const UploadHeader& header) {
  if (header.declared_size < -1) {
    return InvalidArgumentError("upload: declared_size must be -1 or a size");
  }
  if (!header.vfs_path.empty() && header.path_follows) {
    return InvalidArgumentError("upload: a vfs_path and path_follows together");
  }
  const bool to_tree = !header.vfs_path.empty() || header.path_follows;
  if (to_tree && placement == nullptr) {
    return UnimplementedError("upload to a path is not served here");
  }
  if (!header.multipart_upload_id.empty()) {
    if (header.vfs_path.empty()) {
      return InvalidArgumentError("upload: a multipart part without the upload's vfs_path");
    }
    NEXUS_ASSIGN_OR_RETURN(std::string path, placement->UploadPath(header.owner, header.vfs_path));
    auto md5 = std::make_shared<PartMd5>();
    NEXUS_ASSIGN_OR_RETURN(
        std::unique_ptr<Upload> upload,
        placement->BeginPartUpload(header.owner, path, header.multipart_upload_id,
                                   header.part_number, header.declared_size, md5));
    return std::unique_ptr<UploadSession>(new UploadSession(
        std::move(upload), std::move(path), nullptr, nullptr, header, std::move(md5)));
  }
  if (header.path_follows) {
    auto late_path = std::make_shared<LatePath>();
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Upload> upload,
                           placement->BeginUploadPathLater(header.owner, header.file_name,
                                                           header.declared_size, late_path));
    return std::unique_ptr<UploadSession>(
        new UploadSession(std::move(upload), "", std::move(late_path), placement, header));
  }
  if (header.vfs_path.empty()) {
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Upload> upload,
                           files.Begin(header.owner, header.file_name, header.declared_size));
    return std::unique_ptr<UploadSession>(
        new UploadSession(std::move(upload), "", nullptr, nullptr, header));
  }
  NEXUS_ASSIGN_OR_RETURN(std::string path, placement->UploadPath(header.owner, header.vfs_path));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Upload> upload,
                         placement->BeginUploadAt(header.owner, path, header.declared_size));
  return std::unique_ptr<UploadSession>(
      new UploadSession(std::move(upload), std::move(path), nullptr, nullptr, header));
}

Status UploadSession::Refuse(std::string_view why) const {
  return InvalidArgumentError("upload '" + name() + "': " + std::string(why));
}

Status UploadSession::Write(std::string_view data) {
  if (late_path_ && late_path_->has_value()) return Refuse("data after the path");
  if (etag_set_) return Refuse("data after the S3 ETag");
  return upload_->Write(data);
}

Status UploadSession::WriteShared(std::span<const std::string_view> pieces,
                                  const std::shared_ptr<const void>& owner) {
  if (late_path_ && late_path_->has_value()) return Refuse("data after the path");
  if (etag_set_) return Refuse("data after the S3 ETag");
  for (std::string_view piece : pieces) {
    if (!piece.empty()) NEXUS_RETURN_IF_ERROR(upload_->WriteShared(piece, owner));
  }
  return Status::Ok();
}

Status UploadSession::SetPath(std::string_view path) {
  if (!late_path_) return Refuse("a path message, but the header did not say path_follows");
  NEXUS_ASSIGN_OR_RETURN(std::string normalized, placement_->UploadPath(owner_, path));
  return late_path_->Set(std::move(normalized));
}

Status UploadSession::SetS3Etag(std::string_view etag) {
  if (etag_set_) return Refuse("a second S3 ETag");
  if (!ValidS3Etag(etag)) return Refuse("a malformed S3 ETag");
  // A part's ETag is its MD5, which Complete combines.
  if (part_md5_) NEXUS_RETURN_IF_ERROR(part_md5_->Set(std::string(etag)));
  etag_set_ = true;
  upload_->SetS3Etag(std::string(etag));
  return Status::Ok();
}

Result<FileRecord> UploadSession::Commit() {
  if (declared_size_ >= 0 && bytes_written() != declared_size_) {
    return Refuse("received " + std::to_string(bytes_written()) + " bytes, the header declared " +
                  std::to_string(declared_size_));
  }
  if (late_path_ && !late_path_->has_value()) return Refuse("the path never arrived");
  if (part_md5_ && !part_md5_->has_value()) return Refuse("the part MD5 never arrived");
  return upload_->Commit();
}

void UploadSession::Abort() { upload_->Abort(); }

const std::string& UploadSession::vfs_path() const {
  return late_path_ ? late_path_->path() : vfs_path_;
}

}  // namespace nexus::daemon::storage
