// The S3 operations over a user's tree, called by the S3 handler
// (s3_handler.h) once a request's signature is verified: buckets are the
// user's top-level folders, an object's key is its path below its bucket's
// folder. Each answers a Response, an S3 error document when it fails.
//
// Where S3 and a tree disagree, the request is refused with a clear error
// rather than half-done: a key ending in '/', or with an empty, "." or ".."
// segment, names no file (400 XNexusInvalidKey); a key below a key ("a/b"
// when "a" is an object) is 409 XNexusParentIsObject; a key that is a
// folder holding other keys is 409 XNexusObjectIsFolder. Folders a PUT
// needs are made; a DELETE removes the folders it leaves empty. Private to
// the S3 handler; stateless.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"
#include "gateway/s3/aws_chunked.h"
#include "gateway/s3/s3_error.h"
#include "gateway/s3/s3_metadata.h"
#include "gateway/s3/s3_xml.h"
#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {

// One verified S3 request.
struct S3Call {
  Request& req;
  DaemonClient& daemon;
  std::string owner;         // username: the owner of every tree call
  std::string owner_id;      // user id, shown as the buckets' owner
  std::string bucket;        // "" for the service (ListBuckets)
  std::string key;           // "" for a bucket
  std::string payload_hash;  // as signed: a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-*
  std::string region;
  std::optional<ChunkedBody> chunked;  // set for an aws-chunked body
};

// The answer for `error` on this request.
Response Fail(const S3Call& call, const S3Error& error);
// A failed tree call as an S3 error; kNotFound becomes `not_found`.
S3Error ErrorOf(const Status& status, const S3Error& not_found);
S3Error NoSuchBucket();
S3Error NoSuchKey();

// The tree paths of a bucket and of an object.
std::string BucketPath(const S3Call& call);
std::string ObjectPath(const S3Call& call);
// The entry at `path`, nullopt when there is none.
asio::awaitable<Result<std::optional<daemonpb::DirEntry>>> StatEntry(DaemonClient& daemon,
                                                                     const std::string& owner,
                                                                     const std::string& path);
bool IsFolder(const daemonpb::DirEntry& e);
// NoSuchBucket unless the call's bucket is one of the owner's folders.
asio::awaitable<std::optional<S3Error>> CheckBucket(S3Call& call);
// The quoted ETag of a file: the one kept when an S3 client wrote it (its
// MD5, FileRecord::s3_etag); else the first 128 bits of its SHA-256 with
// "-1", which S3 tools read as "not an MD5 of the content" (as for a
// multipart object) instead of comparing it with their own MD5.
std::string EtagOf(std::string_view s3_etag, std::string_view sha256);
std::string EtagOf(const daemonpb::DirEntry& e);

asio::awaitable<Response> ListBuckets(S3Call& call);
asio::awaitable<Response> CreateBucket(S3Call& call);
asio::awaitable<Response> HeadBucket(S3Call& call);
asio::awaitable<Response> DeleteBucket(S3Call& call);
asio::awaitable<Response> GetBucketLocation(S3Call& call);
// v1, v2 (list-type=2), or ListObjectVersions (?versions) of an
// unversioned bucket.
asio::awaitable<Response> ListObjects(S3Call& call, ListKind kind);
// ?versioning: never enabled.
asio::awaitable<Response> GetBucketVersioning(S3Call& call);

asio::awaitable<Response> PutObject(S3Call& call);
asio::awaitable<Response> CopyObject(S3Call& call);
asio::awaitable<Response> GetObject(S3Call& call);
asio::awaitable<Response> HeadObject(S3Call& call);
asio::awaitable<Response> DeleteObject(S3Call& call);
// POST /bucket?delete: up to 1000 keys in one request.
asio::awaitable<Response> DeleteObjects(S3Call& call);

// Multipart uploads (s3_multipart.cc): POST ?uploads, PUT ?partNumber&
// uploadId (with x-amz-copy-source: UploadPartCopy), POST ?uploadId,
// DELETE ?uploadId, GET ?uploadId on an object; GET ?uploads on a bucket.
asio::awaitable<Response> CreateMultipartUpload(S3Call& call);
asio::awaitable<Response> UploadPart(S3Call& call);
asio::awaitable<Response> UploadPartCopy(S3Call& call);
asio::awaitable<Response> CompleteMultipartUpload(S3Call& call);
asio::awaitable<Response> AbortMultipartUpload(S3Call& call);
asio::awaitable<Response> ListParts(S3Call& call);
asio::awaitable<Response> ListMultipartUploads(S3Call& call);

// Deletes the object (and the folders it leaves empty); a key that is not
// there is no error.
asio::awaitable<std::optional<S3Error>> DeleteKey(S3Call& call);
// The object metadata at `path` (s3_metadata.h); empty when it has none.
asio::awaitable<Result<ObjectMetadata>> LoadMetadata(S3Call& call, const std::string& path);
// Makes `metadata` the metadata of the object at `path`. Without
// `may_have_some` (a new object) empty metadata costs no call.
asio::awaitable<std::optional<S3Error>> StoreMetadata(S3Call& call, const std::string& path,
                                                      const ObjectMetadata& metadata,
                                                      bool may_have_some);
// What StreamBody learnt of a body.
struct BodyDigests {
  std::string md5;  // binary: the ETag to send
  // The additional checksum the client sent and StreamBody checked
  // ("x-amz-checksum-crc32" and its base64 value), answered back as S3
  // does; empty when it sent none.
  std::string checksum_name;
  std::string checksum;
};
// Streams the request body (a PUT's or a part's) into `upload`, checking
// what the client vouched for: the signed payload SHA-256, each aws-chunked
// chunk's signature, `want_md5` (binary; "" for none: BadDigest when it
// differs), and an x-amz-checksum-* sent as a header or named by
// x-amz-trailer and sent in the aws-chunked trailer (BadDigest when it
// differs). A failed write to nexusd becomes `upload_error(status)`.
asio::awaitable<std::optional<S3Error>> StreamBody(
    S3Call& call, UploadCall& upload, const std::string& want_md5, BodyDigests* digests,
    const std::function<S3Error(const Status&)>& upload_error);
// The x-amz-checksum-* header of a small body read whole (an XML document),
// checked; BadDigest when it differs.
std::optional<S3Error> CheckBodyChecksum(const S3Call& call, std::string_view body);
// Echoes the checked checksum on the answer to the upload that sent it.
void SetChecksumHeader(const BodyDigests& digests, Response& r);
// A small request body (an XML document) read whole; kInvalidArgument
// when it is larger than `max`.
asio::awaitable<Result<std::string>> ReadSmallBody(Request& req, size_t max);
// A key the tree can hold as a file path below its bucket (see the top of
// this file), and the error refusing one it cannot.
bool ValidKey(std::string_view key);
S3Error InvalidKey();

}  // namespace nexus::gateway::s3
