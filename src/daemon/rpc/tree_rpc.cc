#include "daemon/rpc/tree_rpc.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/vfs_path.h"
#include "daemon/rpc/reply.h"

namespace nexus::daemon {
namespace {

void FillEntry(const storage::TreeEntry& e, v1::DirEntry* out) {
  out->set_name(e.name);
  out->set_type(std::string(storage::EntryKindName(e.kind)));
  out->set_size(e.size);
  out->set_modified(e.modified);
  out->set_id(e.file_id);
  out->set_sha256(e.sha256);
  out->set_s3_etag(e.s3_etag);
}

void FillUpload(const storage::MultipartUploadRow& u, v1::MultipartUpload* out) {
  out->set_upload_id(u.id);
  out->set_path(u.path);
  out->set_created(u.created);
}

void FillPart(const storage::MultipartPartRow& p, v1::MultipartPart* out) {
  out->set_number(p.number);
  out->set_size(p.size);
  out->set_md5(p.md5);
  out->set_modified(p.modified);
}

void FillLock(const storage::PathLock& l, v1::ActiveLock* out) {
  out->set_token(l.token);
  out->set_path(l.path);
  out->set_deep(l.deep);
  out->set_shared(l.shared);
  out->set_holder(l.holder);
  out->set_timeout_seconds(l.timeout_seconds);
  out->set_expires(l.expires);
}

}  // namespace

TreeRpc::TreeRpc(storage::TreeService& tree, CallControl& calls) : tree_(tree), calls_(calls) {
  MarkMethodStreamed(
      MethodIndex(v1::Tree::service_full_name(), "DownloadPath"),
      RawDownloadHandler([this](grpc::ServerContext* ctx, RawDownloadStream* stream) {
        return DownloadPathRaw(ctx, stream);
      }));
}

grpc::Status TreeRpc::MakeDirectory(grpc::ServerContext*, const v1::MakeDirectoryRequest* req,
                                    v1::MakeDirectoryResponse* resp) {
  Result<std::string> path = tree_.MakeDirectory(req->owner(), req->path());
  if (!path.ok()) return Reply("make directory", path.status());
  resp->set_path(*path);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::ListDirectory(grpc::ServerContext*, const v1::ListDirectoryRequest* req,
                                    v1::ListDirectoryResponse* resp) {
  Result<std::vector<storage::TreeEntry>> entries =
      req->limit() > 0 ? tree_.ListInKeyOrder(req->owner(), req->path(), req->after(), req->limit())
                       : tree_.List(req->owner(), req->path());
  if (!entries.ok()) return Reply("list directory", entries.status());
  for (const storage::TreeEntry& e : *entries) {
    FillEntry(e, resp->add_entries());
  }
  return grpc::Status::OK;
}

grpc::Status TreeRpc::DeletePath(grpc::ServerContext*, const v1::DeletePathRequest* req,
                                 v1::DeletePathResponse* resp) {
  Result<storage::TreeDeleteCounts> counts = tree_.Delete(req->owner(), req->path());
  if (!counts.ok()) return Reply("delete path", counts.status());
  resp->set_files_deleted(counts->files);
  resp->set_folders_deleted(counts->folders);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::MovePath(grpc::ServerContext*, const v1::MovePathRequest* req,
                               v1::MovePathResponse* resp) {
  Result<std::string> to = NormalizeVfsPath(req->new_path());
  if (req->overwrite()) {
    Result<bool> replaced = tree_.MoveReplacing(req->owner(), req->old_path(), req->new_path());
    if (!replaced.ok()) return Reply("move path", replaced.status());
    resp->set_replaced(*replaced);
  } else {
    to = tree_.Move(req->owner(), req->old_path(), req->new_path());
    if (!to.ok()) return Reply("move path", to.status());
  }
  // The answer echoes the old path in its normal form: Move succeeded, so it
  // normalises.
  Result<std::string> from = NormalizeVfsPath(req->old_path());
  resp->set_old_path(from.ok() ? *from : req->old_path());
  resp->set_new_path(to.ok() ? *to : req->new_path());
  return grpc::Status::OK;
}

grpc::Status TreeRpc::DownloadPathRaw(grpc::ServerContext* ctx, RawDownloadStream* stream) {
  constexpr std::string_view kRpc = "download path";
  StreamWatchdog::Watch watch = calls_.watchdog.Register([ctx] { ctx->TryCancel(); });
  Result<v1::DownloadPathRequest> req = ReadDownloadRequest<v1::DownloadPathRequest>(stream, watch);
  if (!req.ok()) return ctx->IsCancelled() ? Cancelled(kRpc) : Reply(kRpc, req.status());
  Result<std::unique_ptr<storage::FileReader>> reader =
      tree_.Open(req->owner(), req->path(), RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return Reply(kRpc, reader.status());
  // The header names the file's path in its normal form: Open succeeded, so
  // it normalises.
  Result<std::string> path = NormalizeVfsPath(req->path());
  return ServeDownload(ctx, stream, watch, calls_, kRpc, std::move(*reader), req->has_range(),
                       path.ok() ? *path : req->path());
}

grpc::Status TreeRpc::GetUsage(grpc::ServerContext*, const v1::GetUsageRequest* req,
                               v1::Usage* resp) {
  Result<storage::TreeUsage> usage = tree_.Usage(req->owner());
  if (!usage.ok()) return Reply("usage", usage.status());
  resp->set_used_bytes(usage->used_bytes);
  resp->set_quota_bytes(usage->quota_bytes);
  resp->set_files(usage->files);
  resp->set_folders(usage->folders);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::StatPath(grpc::ServerContext*, const v1::StatPathRequest* req,
                               v1::DirEntry* resp) {
  Result<storage::TreeEntry> entry = tree_.Stat(req->owner(), req->path());
  if (!entry.ok()) return Reply("stat path", entry.status());
  FillEntry(*entry, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::CopyPath(grpc::ServerContext*, const v1::CopyPathRequest* req,
                               v1::CopyPathResponse* resp) {
  Result<storage::TreeCopyCounts> made = tree_.Copy(req->owner(), req->from_path(), req->to_path(),
                                                    req->recursive(), req->overwrite());
  if (!made.ok()) return Reply("copy path", made.status());
  resp->set_files_copied(made->files);
  resp->set_folders_copied(made->folders);
  resp->set_replaced(made->replaced);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::SetModified(grpc::ServerContext*, const v1::SetModifiedRequest* req,
                                  v1::SetModifiedResponse*) {
  return Reply("set modified", tree_.SetModified(req->owner(), req->path(), req->modified()));
}

grpc::Status TreeRpc::PatchProps(grpc::ServerContext*, const v1::PatchPropsRequest* req,
                                 v1::PatchPropsResponse*) {
  std::vector<storage::DeadPropertyChange> changes;
  changes.reserve(static_cast<size_t>(req->changes_size()));
  for (const v1::PropChange& c : req->changes()) {
    changes.push_back({{c.prop().ns(), c.prop().name(), c.prop().value()}, c.remove()});
  }
  return Reply("patch properties", tree_.PatchProps(req->owner(), req->path(), changes));
}

grpc::Status TreeRpc::ListProps(grpc::ServerContext*, const v1::ListPropsRequest* req,
                                v1::ListPropsResponse* resp) {
  Result<std::vector<storage::EntryProperties>> listed =
      tree_.ListProps(req->owner(), req->path(), req->children());
  if (!listed.ok()) return Reply("list properties", listed.status());
  for (const storage::EntryProperties& e : *listed) {
    v1::EntryProps* out = resp->add_entries();
    out->set_name(e.name);
    for (const storage::DeadProperty& p : e.props) {
      v1::DeadProp* d = out->add_props();
      d->set_ns(p.ns);
      d->set_name(p.name);
      d->set_value(p.value);
    }
  }
  return grpc::Status::OK;
}

grpc::Status TreeRpc::LockPath(grpc::ServerContext*, const v1::LockPathRequest* req,
                               v1::ActiveLock* resp) {
  Result<storage::PathLock> lock = tree_.Lock(req->owner(), req->path(), req->deep(), req->shared(),
                                              req->holder(), req->timeout_seconds());
  if (!lock.ok()) return Reply("lock path", lock.status());
  FillLock(*lock, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::RefreshLock(grpc::ServerContext*, const v1::RefreshLockRequest* req,
                                  v1::ActiveLock* resp) {
  Result<storage::PathLock> lock =
      tree_.RefreshLock(req->owner(), req->path(), req->token(), req->timeout_seconds());
  if (!lock.ok()) return Reply("refresh lock", lock.status());
  FillLock(*lock, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::UnlockPath(grpc::ServerContext*, const v1::UnlockPathRequest* req,
                                 v1::UnlockPathResponse*) {
  return Reply("unlock path", tree_.Unlock(req->owner(), req->path(), req->token()));
}

grpc::Status TreeRpc::ListLocks(grpc::ServerContext*, const v1::ListLocksRequest* req,
                                v1::ListLocksResponse* resp) {
  Result<std::vector<storage::PathLock>> locks =
      tree_.LocksAt(req->owner(), req->path(), req->below());
  if (!locks.ok()) return Reply("list locks", locks.status());
  for (const storage::PathLock& l : *locks) FillLock(l, resp->add_locks());
  return grpc::Status::OK;
}

grpc::Status TreeRpc::CreateMultipartUpload(grpc::ServerContext*,
                                            const v1::CreateMultipartUploadRequest* req,
                                            v1::MultipartUpload* resp) {
  storage::DeadProperty on_complete;
  if (req->has_on_complete()) {
    on_complete = {req->on_complete().ns(), req->on_complete().name(), req->on_complete().value()};
  }
  Result<storage::MultipartUploadRow> u =
      tree_.CreateMultipartUpload(req->owner(), req->path(), on_complete);
  if (!u.ok()) return Reply("create multipart upload", u.status());
  FillUpload(*u, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::UploadPartCopy(grpc::ServerContext*, const v1::UploadPartCopyRequest* req,
                                     v1::MultipartPart* resp) {
  std::optional<storage::ByteRange> range;
  if (req->has_range()) range = storage::ByteRange{req->range().offset(), req->range().length()};
  Result<storage::MultipartPartRow> part = tree_.UploadPartCopy(
      req->owner(), req->path(), req->upload_id(), req->part_number(), req->from_path(), range);
  if (!part.ok()) return Reply("upload part copy", part.status());
  FillPart(*part, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::ListParts(grpc::ServerContext*, const v1::ListPartsRequest* req,
                                v1::ListPartsResponse* resp) {
  storage::MultipartUploadRow upload;
  Result<std::vector<storage::MultipartPartRow>> parts =
      tree_.ListParts(req->owner(), req->upload_id(), req->path(), &upload);
  if (!parts.ok()) return Reply("list parts", parts.status());
  FillUpload(upload, resp->mutable_upload());
  for (const storage::MultipartPartRow& p : *parts) FillPart(p, resp->add_parts());
  return grpc::Status::OK;
}

grpc::Status TreeRpc::ListMultipartUploads(grpc::ServerContext*,
                                           const v1::ListMultipartUploadsRequest* req,
                                           v1::ListMultipartUploadsResponse* resp) {
  Result<std::vector<storage::MultipartUploadRow>> uploads =
      tree_.ListMultipartUploads(req->owner(), req->path_prefix());
  if (!uploads.ok()) return Reply("list multipart uploads", uploads.status());
  for (const storage::MultipartUploadRow& u : *uploads) FillUpload(u, resp->add_uploads());
  return grpc::Status::OK;
}

grpc::Status TreeRpc::CompleteMultipartUpload(grpc::ServerContext*,
                                              const v1::CompleteMultipartUploadRequest* req,
                                              v1::DirEntry* resp) {
  std::vector<storage::PartChoice> choices;
  for (const v1::CompletePart& p : req->parts()) choices.push_back({p.number(), p.md5()});
  Result<storage::TreeEntry> entry = tree_.CompleteMultipartUpload(
      req->owner(), req->upload_id(), req->path(), choices, req->min_part_size());
  if (!entry.ok()) return Reply("complete multipart upload", entry.status());
  FillEntry(*entry, resp);
  return grpc::Status::OK;
}

grpc::Status TreeRpc::AbortMultipartUpload(grpc::ServerContext*,
                                           const v1::AbortMultipartUploadRequest* req,
                                           v1::AbortMultipartUploadResponse*) {
  return Reply("abort multipart upload",
               tree_.AbortMultipartUpload(req->owner(), req->upload_id(), req->path()));
}

}  // namespace nexus::daemon
