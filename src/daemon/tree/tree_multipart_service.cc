// TreeService's S3 multipart calls: path checks, the reads that need the
// chunk store (the object's SHA-256 at Complete, a part copied from a file),
// and the chunk removals after TreeStore's transactions.
#include <openssl/evp.h>

#include <memory>

#include "common/sha256.h"
#include "common/vfs_path.h"
#include "daemon/storage/safe_name.h"
#include "daemon/tree/tree_service.h"

namespace nexus::daemon::storage {
namespace {

Result<std::string> CheckedPath(std::string_view op, const std::string& owner,
                                std::string_view path) {
  if (owner.empty()) return InvalidArgumentError(std::string(op) + ": owner is empty");
  Result<std::string> p = NormalizeVfsPath(path);
  if (!p.ok()) return p.status().WithContext(op);
  if (*p == "/") return InvalidArgumentError(std::string(op) + ": the path names no file");
  NEXUS_RETURN_IF_ERROR(RefuseBidiControls(std::string(op) + ": the path", *p));
  return p;
}

Status CheckPartNumber(int number) {
  if (number < 1 || number > kMaxPartNumber) {
    return InvalidArgumentError("InvalidArgument: Part number must be an integer between 1 and " +
                                std::to_string(kMaxPartNumber) + ", inclusive");
  }
  return Status::Ok();
}

struct Md5CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Streaming MD5 (the S3 ETag of a part) through OpenSSL EVP.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr); }
  void Update(std::string_view b) { EVP_DigestUpdate(ctx_.get(), b.data(), b.size()); }
  std::string HexFinish() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), d, &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += kHex[d[i] >> 4];
      out += kHex[d[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, Md5CtxFree> ctx_;
};

// S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then
// "-" and the number of parts.
std::string MultipartEtag(const std::vector<MultipartPartRow>& parts) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  Md5 md5;
  for (const MultipartPartRow& p : parts) {
    std::string raw;
    for (size_t i = 0; i + 1 < p.md5.size(); i += 2) {
      raw += static_cast<char>(nibble(p.md5[i]) * 16 + nibble(p.md5[i + 1]));
    }
    md5.Update(raw);
  }
  return md5.HexFinish() + "-" + std::to_string(parts.size());
}

}  // namespace

Result<MultipartUploadRow> TreeService::CreateMultipartUpload(const std::string& owner,
                                                              std::string_view path,
                                                              const DeadProperty& on_complete) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, CheckedPath("start multipart upload", owner, path));
  NEXUS_ASSIGN_OR_RETURN(std::string id, NewFileId());
  return tree_.CreateMultipartUpload(owner, p, id, on_complete);
}

Result<std::unique_ptr<Upload>> TreeService::BeginPartUpload(const std::string& owner,
                                                             const std::string& path,
                                                             const std::string& upload_id,
                                                             int part_number, int64_t declared_size,
                                                             std::shared_ptr<const PartMd5> md5) {
  NEXUS_RETURN_IF_ERROR(CheckPartNumber(part_number));
  if (!md5) return InvalidArgumentError("upload part: no holder for the part's MD5");
  // Fails before any byte is stored on an unknown upload; the part it
  // replaces counts as freed in the early quota checks.
  NEXUS_ASSIGN_OR_RETURN(std::vector<MultipartPartRow> parts,
                         tree_.ListParts(owner, upload_id, path, nullptr));
  UploadOptions options;
  options.declared_size = declared_size;
  options.adds_entry = true;
  for (const MultipartPartRow& p : parts) {
    if (p.number != part_number) continue;
    options.replaced_bytes = p.size;
    options.replaced_file_id = p.file_id;
    options.adds_entry = false;
  }
  options.commit = [this, path, upload_id, part_number, md5](
                       const FileRecord& file, const std::vector<ChunkRef>& chunks,
                       int64_t quota_bytes) -> Result<CommitOutcome> {
    if (!md5->has_value()) return InvalidArgumentError("upload part: the MD5 never arrived");
    return tree_.CommitPart(upload_id, path, part_number, md5->hex(), file, chunks, quota_bytes);
  };
  return files_.Begin(owner, SplitVfsPath(path).back(), std::move(options));
}

Result<MultipartPartRow> TreeService::UploadPartCopy(const std::string& owner,
                                                     std::string_view path,
                                                     const std::string& upload_id, int part_number,
                                                     std::string_view from,
                                                     std::optional<ByteRange> range) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, CheckedPath("upload part copy", owner, path));
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, Open(owner, from, range));
  auto md5 = std::make_shared<PartMd5>();
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Upload> upload,
                         BeginPartUpload(owner, p, upload_id, part_number, reader->length(), md5));
  Md5 sum;
  for (;;) {
    Result<std::string_view> bytes = reader->Next();
    if (!bytes.ok()) {
      upload->Abort();
      return bytes.status();
    }
    if (bytes->empty()) break;
    sum.Update(*bytes);
    NEXUS_RETURN_IF_ERROR(upload->Write(*bytes));
  }
  NEXUS_RETURN_IF_ERROR(md5->Set(sum.HexFinish()));
  NEXUS_ASSIGN_OR_RETURN(FileRecord file, upload->Commit());
  return MultipartPartRow{part_number, file.size, md5->hex(), file.created_at, file.id};
}

Result<std::vector<MultipartPartRow>> TreeService::ListParts(const std::string& owner,
                                                             const std::string& upload_id,
                                                             std::string_view path,
                                                             MultipartUploadRow* upload) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, CheckedPath("list parts", owner, path));
  return tree_.ListParts(owner, upload_id, p, upload);
}

Result<std::vector<MultipartUploadRow>> TreeService::ListMultipartUploads(
    const std::string& owner, const std::string& path_prefix) {
  if (owner.empty()) return InvalidArgumentError("list multipart uploads: owner is empty");
  if (!path_prefix.starts_with("/")) {
    return InvalidArgumentError("list multipart uploads: the prefix must start with '/'");
  }
  return tree_.ListMultipartUploads(owner, path_prefix);
}

Result<TreeEntry> TreeService::CompleteMultipartUpload(const std::string& owner,
                                                       const std::string& upload_id,
                                                       std::string_view path,
                                                       const std::vector<PartChoice>& choices,
                                                       int64_t min_part_size) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, CheckedPath("complete multipart upload", owner, path));
  NEXUS_ASSIGN_OR_RETURN(std::vector<MultipartPartRow> parts,
                         tree_.ListParts(owner, upload_id, p, nullptr));
  NEXUS_ASSIGN_OR_RETURN(std::vector<MultipartPartRow> chosen,
                         ChooseParts(parts, choices, min_part_size));
  // The whole object's SHA-256: the one cost of Complete that grows with
  // the object (each part's chunks are read and verified once).
  Sha256 sha;
  std::vector<std::string> expected;
  for (const MultipartPartRow& part : chosen) {
    NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, files_.Open(owner, part.file_id));
    for (;;) {
      NEXUS_ASSIGN_OR_RETURN(std::string_view bytes, reader->Next());
      if (bytes.empty()) break;
      sha.Update(bytes);
    }
    expected.push_back(part.file_id);
  }
  FileRecord file;
  NEXUS_ASSIGN_OR_RETURN(file.id, NewFileId());
  file.owner = owner;
  file.name = SafeBaseName(SplitVfsPath(p).back());
  file.sha256 = ToHex(sha.Finish());
  file.status = kStatusUploaded;
  file.s3_etag = MultipartEtag(chosen);
  NEXUS_ASSIGN_OR_RETURN(CommitOutcome done,
                         tree_.CompleteMultipartUpload(upload_id, p, choices, min_part_size,
                                                       expected, file, files_.QuotaFor(owner)));
  files_.RemoveReleasedChunks(done.released);
  TreeEntry e;
  e.name = SplitVfsPath(p).back();
  e.kind = EntryKind::kFile;
  e.size = done.file.size;
  e.modified = done.file.created_at;
  e.file_id = done.file.id;
  e.sha256 = done.file.sha256;
  e.s3_etag = done.file.s3_etag;
  return e;
}

Status TreeService::AbortMultipartUpload(const std::string& owner, const std::string& upload_id,
                                         std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, CheckedPath("abort multipart upload", owner, path));
  NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> released,
                         tree_.AbortMultipartUpload(owner, upload_id, p));
  files_.RemoveReleasedChunks(released);
  return Status::Ok();
}

Result<int64_t> TreeService::ExpireMultipartUploads(int64_t now_seconds, int64_t max_age_seconds) {
  int64_t count = 0;
  NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> released,
                         tree_.ExpireMultipartUploads(now_seconds - max_age_seconds, &count));
  files_.RemoveReleasedChunks(released);
  return count;
}

}  // namespace nexus::daemon::storage
