// The rig of the Files, VFS and lambda route tests: Pipeline::Handle over the
// real route table with a fake AuthClient and a scripted nexusd (uploads and
// downloads included, through fake UploadCall / DownloadCall objects), plus
// builders of multipart bodies and of nexusd's download messages. Shared by
// the files_*, vfs_* and lambda_* handler tests of this folder.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "gateway/api/routes.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {

using testing::BearerHeaders;
using testing::MakeRequest;
using testing::RunAwaitable;

// Collects a streamed body.
class StringWriter final : public BodyWriter {
 public:
  asio::awaitable<Status> Write(std::string_view data) override {
    body.append(data);
    co_return Status::Ok();
  }
  std::string body;
};

inline asio::awaitable<Status> DrainInto(Response* resp, StringWriter* out) {
  co_return co_await resp->stream(*out);
}

inline daemonpb::FileInfo SampleFile(std::string id, int64_t size, int64_t created_at) {
  daemonpb::FileInfo f;
  f.set_id(std::move(id));
  f.set_name("report.pdf");
  f.set_size(size);
  f.set_chunks_count(size > 0 ? 1 : 0);
  f.set_status("Uploaded");
  f.set_sha256("ab12");
  f.set_created_at(created_at);
  return f;
}

inline daemonpb::DownloadResponse HeaderMessage(int64_t size, int64_t offset, int64_t length,
                                                bool partial) {
  daemonpb::DownloadResponse m;
  auto* h = m.mutable_header();
  *h->mutable_file() = SampleFile("f1", size, 1700000000);
  h->set_offset(offset);
  h->set_length(length);
  h->set_partial(partial);
  return m;
}

inline daemonpb::DownloadResponse DataMessage(std::string bytes) {
  daemonpb::DownloadResponse m;
  m.set_data(std::move(bytes));
  return m;
}

inline constexpr char kBoundary[] = "XyZ";

inline std::string FilePart(const std::string& content,
                            const std::string& filename = "report.pdf") {
  return std::string("--") + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
         "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
}
inline std::string FieldPart(const std::string& name, const std::string& value) {
  return std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
         "\"\r\n\r\n" + value + "\r\n";
}
inline std::string Close() { return std::string("--") + kBoundary + "--\r\n"; }

class FilesRoutesTest : public ::testing::Test {
 protected:
  FilesRoutesTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    RegisterRoutes(router_, auth_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
  }

  Response Send(std::string method, const std::string& target, std::string body = "",
                Headers headers = Headers()) {
    headers.Add("Authorization", "Bearer tok");
    last_ = MakeRequest(std::move(method), std::move(body), std::move(headers));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }
  Response PostJson(const std::string& target, std::string body) {
    Headers h;
    h.Add("Content-Type", "application/json");
    return Send("POST", target, std::move(body), std::move(h));
  }
  Response PostMultipart(const std::string& target, std::string body) {
    Headers h;
    h.Add("Content-Type", std::string("multipart/form-data; boundary=") + kBoundary);
    return Send("POST", target, std::move(body), std::move(h));
  }
  // Runs a streamed response's body; returns its status.
  Status Drain(Response& r, std::string* body) {
    StringWriter w;
    Status s = RunAwaitable(DrainInto(&r, &w));
    *body = w.body;
    return s;
  }

  testing::FakeAuthClient auth_;
  testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

}  // namespace nexus::gateway
