// The streaming daemon calls (UploadCall, DownloadCall) against an
// in-process Daemon service: an upload commits only when finished and is
// cancelled when dropped; a download delivers header, data and end, turns
// nexusd's errors into statuses, and is cancelled when dropped early. Each
// carries the request id it was started for and is counted once in the
// backend call figures.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>

#include "common/grpc_status.h"
#include "common/logging.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/metrics/http_metrics.h"
#include "nexus/daemon/v1/files.grpc.pb.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::RunAwaitable;
using namespace std::chrono_literals;

// How a server-side call ended.
struct Ending {
  bool cancelled = false;
  int64_t bytes = 0;
};

class StreamingDaemon final : public daemonpb::Files::Service {
 public:
  grpc::Status UploadFile(grpc::ServerContext* ctx,
                          grpc::ServerReader<daemonpb::UploadFileRequest>* in,
                          daemonpb::FileInfo* resp) override {
    NoteRequestId(*ctx);
    daemonpb::UploadFileRequest msg;
    if (!in->Read(&msg) || !msg.has_header()) {
      return ToGrpcStatus(InvalidArgumentError("no header"));
    }
    if (msg.header().file_name() == "refuse") {
      Ended(upload_done_, upload_ended_, Ending{});
      return ToGrpcStatus(Status(StatusCode::kQuotaExceeded, "quota exceeded"));
    }
    const std::string name = msg.header().file_name();
    Ending end;
    while (in->Read(&msg)) end.bytes += static_cast<int64_t>(msg.data().size());
    end.cancelled = ctx->IsCancelled();
    Ended(upload_done_, upload_ended_, end);
    if (end.cancelled) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    resp->set_name(name);
    resp->set_size(end.bytes);
    resp->set_status("Uploaded");
    return grpc::Status::OK;
  }

  grpc::Status DownloadFile(grpc::ServerContext* ctx, const daemonpb::DownloadFileRequest* req,
                            grpc::ServerWriter<daemonpb::DownloadResponse>* out) override {
    NoteRequestId(*ctx);
    if (req->id() == "missing") return ToGrpcStatus(NotFoundError("file missing not found"));
    if (req->id() == "shapes") return SendShapes(out);
    daemonpb::DownloadResponse header;
    header.mutable_header()->mutable_file()->set_id(req->id());
    header.mutable_header()->set_length(3 << 20);
    if (!out->Write(header)) return Done(ctx, 0, true);
    daemonpb::DownloadResponse data;
    data.set_data(std::string(1 << 20, 'd'));
    // "endless" keeps sending until the client goes away.
    const int messages = req->id() == "endless" ? 1000 : 3;
    int64_t sent = 0;
    for (int i = 0; i < messages; ++i) {
      if (req->id() == "broken" && i == 1) {
        return ToGrpcStatus(Status(StatusCode::kInternal, "chunk hash mismatch"));
      }
      if (!out->Write(data)) return Done(ctx, sent, true);
      sent += static_cast<int64_t>(data.data().size());
    }
    return Done(ctx, sent, false);
  }

  // The payloads SendShapes sends as plain data messages, in order.
  static std::vector<std::string> ShapePayloads() {
    std::vector<std::string> out;
    for (size_t n :
         {size_t{1}, size_t{200}, size_t{70000}, size_t{1} << 20, size_t{0}, size_t{5}}) {
      std::string p(n, '\0');
      for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(i * 7 + n);
      out.push_back(std::move(p));
    }
    return out;
  }

  // A header, data messages of several sizes (length varints of one to three
  // bytes, an empty one), one data message carrying an unknown field (so not
  // the plain layout), then a second header, which is a protocol error.
  grpc::Status SendShapes(grpc::ServerWriter<daemonpb::DownloadResponse>* out) {
    daemonpb::DownloadResponse msg;
    msg.mutable_header()->set_length(1);
    out->Write(msg);
    for (const std::string& p : ShapePayloads()) {
      msg.set_data(p);
      out->Write(msg);
    }
    msg.set_data("odd");
    msg.GetReflection()->MutableUnknownFields(&msg)->AddVarint(99, 1);
    out->Write(msg);
    msg.Clear();
    msg.mutable_header()->set_length(2);
    out->Write(msg);
    return grpc::Status::OK;
  }

  std::future<Ending> upload_done() { return upload_done_.get_future(); }
  std::future<Ending> download_done() { return download_done_.get_future(); }

  // The request ids the calls came with ("-" for none), in arrival order.
  std::vector<std::string> request_ids() {
    std::lock_guard lock(mu_);
    return request_ids_;
  }

 private:
  // The first call of a kind to end tells its future; later ones do not.
  void Ended(std::promise<Ending>& done, bool& ended, Ending end) {
    std::lock_guard lock(mu_);
    if (ended) return;
    ended = true;
    done.set_value(end);
  }

  void NoteRequestId(const grpc::ServerContext& ctx) {
    auto it = ctx.client_metadata().find(kRequestIdMetadataKey);
    std::lock_guard lock(mu_);
    request_ids_.push_back(it == ctx.client_metadata().end()
                               ? "-"
                               : std::string(it->second.data(), it->second.size()));
  }

  // A failed Write means the client went away (IsCancelled may not say so
  // yet at that moment).
  grpc::Status Done(grpc::ServerContext* ctx, int64_t sent, bool write_failed) {
    Ended(download_done_, download_ended_, Ending{write_failed || ctx->IsCancelled(), sent});
    return grpc::Status::OK;
  }

  std::promise<Ending> upload_done_;
  std::promise<Ending> download_done_;
  std::mutex mu_;
  bool upload_ended_ = false;             // guarded by mu_
  bool download_ended_ = false;           // guarded by mu_
  std::vector<std::string> request_ids_;  // guarded by mu_
};

daemonpb::UploadHeader Header(std::string name) {
  daemonpb::UploadHeader h;
  h.set_owner("alice");
  h.set_file_name(std::move(name));
  h.set_declared_size(-1);
  return h;
}

// Starts an upload, writes `messages` of 1 MiB, then finishes it or (finish
// false) drops it. Returns Finish's answer, or the first error.
asio::awaitable<Result<daemonpb::FileInfo>> Upload(DaemonClient* daemon, std::string name,
                                                   int messages, bool finish) {
  Result<std::unique_ptr<UploadCall>> call = co_await daemon->StartUpload(Header(name));
  if (!call.ok()) co_return call.status();
  for (int i = 0; i < messages; ++i) {
    std::string data(1 << 20, 'u');
    Status s = co_await (*call)->Write(&data);
    if (!s.ok()) co_return s;
    EXPECT_TRUE(data.empty());
  }
  if (!finish) co_return UnavailableError("dropped on purpose");
  co_return co_await (*call)->Finish();
}

struct Received {
  Status status;
  bool header = false;
  int64_t bytes = 0;
  bool ended = false;
};

// Reads a download; stops after the header when `header_only`.
asio::awaitable<Received> Download(DaemonClient* daemon, std::string id, bool header_only) {
  daemonpb::DownloadFileRequest req;
  req.set_owner("alice");
  req.set_id(std::move(id));
  std::unique_ptr<DownloadCall> call = daemon->DownloadFile(std::move(req));
  Received got;
  daemonpb::DownloadResponse msg;
  for (;;) {
    Result<bool> r = co_await call->Read(&msg);
    if (!r.ok()) {
      got.status = r.status();
      co_return got;
    }
    if (!*r) {
      got.ended = true;
      co_return got;
    }
    if (msg.has_header()) got.header = true;
    got.bytes += static_cast<int64_t>(msg.data().size());
    if (header_only) co_return got;
  }
}

class DaemonStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    daemon_ = MakeGrpcDaemonClient(server_->InProcessChannel(grpc::ChannelArguments()), 2000ms,
                                   &metrics_);
  }
  void TearDown() override { server_->Shutdown(); }

  // The exposition's value of `series` of method `method`, or -1.
  double Figure(const std::string& series, const std::string& method) {
    const std::string text = registry_.Expose();
    const std::string prefix = series + "{backend=\"daemon\",method=\"" + method + "\"} ";
    size_t at = text.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + prefix.size()));
  }
  double Calls(const std::string& method) {
    return Figure("nexus_backend_call_duration_seconds_count", method);
  }
  double Errors(const std::string& method) {
    return Figure("nexus_backend_call_errors_total", method);
  }

  metrics::Registry registry_;
  BackendMetrics metrics_{registry_, "daemon", {"UploadFile", "DownloadFile"}};
  StreamingDaemon service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DaemonClient> daemon_;
};

TEST_F(DaemonStreamsTest, FinishedUploadIsCommittedWithEveryByte) {
  auto ended = service_.upload_done();
  Result<daemonpb::FileInfo> info = RunAwaitable(Upload(daemon_.get(), "a.bin", 3, true));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size(), 3 << 20);
  EXPECT_EQ(info->name(), "a.bin");
  ASSERT_EQ(ended.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(ended.get().cancelled);
}

TEST_F(DaemonStreamsTest, DroppedUploadIsCancelledNotCommitted) {
  auto ended = service_.upload_done();
  Result<daemonpb::FileInfo> info = RunAwaitable(Upload(daemon_.get(), "a.bin", 2, false));
  EXPECT_FALSE(info.ok());
  ASSERT_EQ(ended.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(ended.get().cancelled);
}

TEST_F(DaemonStreamsTest, UploadRefusedByNexusdCarriesItsStatus) {
  // nexusd answers at once; the error shows on a later Write or on Finish.
  Result<daemonpb::FileInfo> info = RunAwaitable(Upload(daemon_.get(), "refuse", 8, true));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(info.status().message(), "quota exceeded");
}

TEST_F(DaemonStreamsTest, DownloadDeliversHeaderDataAndEnd) {
  Received got = RunAwaitable(Download(daemon_.get(), "f1", false));
  EXPECT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_TRUE(got.header);
  EXPECT_EQ(got.bytes, 3 << 20);
  EXPECT_TRUE(got.ended);
}

TEST_F(DaemonStreamsTest, DownloadErrorsAreNexusStatuses) {
  Received missing = RunAwaitable(Download(daemon_.get(), "missing", false));
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_FALSE(missing.header);

  Received broken = RunAwaitable(Download(daemon_.get(), "broken", false));
  EXPECT_TRUE(broken.header);
  EXPECT_EQ(broken.status.code(), StatusCode::kInternal);
  EXPECT_FALSE(broken.ended);
}

TEST_F(DaemonStreamsTest, DownloadDroppedAfterTheHeaderIsCancelled) {
  auto ended = service_.download_done();
  Received got = RunAwaitable(Download(daemon_.get(), "endless", true));
  EXPECT_TRUE(got.header);
  ASSERT_EQ(ended.wait_for(10s), std::future_status::ready);
  Ending end = ended.get();
  EXPECT_TRUE(end.cancelled);
  EXPECT_LT(end.bytes, 1000LL << 20);
}

// Reads "shapes": the header with Read, then every message with ReadData
// into one buffer; returns the payloads and the final error.
asio::awaitable<std::pair<std::vector<std::string>, Status>> ReadShapes(DaemonClient* daemon) {
  daemonpb::DownloadFileRequest req;
  req.set_owner("alice");
  req.set_id("shapes");
  std::unique_ptr<DownloadCall> call = daemon->DownloadFile(std::move(req));
  std::vector<std::string> payloads;
  daemonpb::DownloadResponse header;
  Result<bool> r = co_await call->Read(&header);
  if (!r.ok()) co_return std::make_pair(payloads, r.status());
  EXPECT_TRUE(*r && header.has_header());
  std::string buffer;
  for (;;) {
    r = co_await call->ReadData(&buffer);
    if (!r.ok()) co_return std::make_pair(payloads, r.status());
    if (!*r) co_return std::make_pair(payloads, Status::Ok());
    payloads.push_back(buffer);
  }
}

TEST_F(DaemonStreamsTest, ReadDataDeliversEachPayloadAndRefusesASecondHeader) {
  auto [payloads, status] = RunAwaitable(ReadShapes(daemon_.get()));
  std::vector<std::string> want = StreamingDaemon::ShapePayloads();
  want.push_back("odd");
  ASSERT_EQ(payloads.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(payloads[i], want[i]) << "message " << i;
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("header"), std::string::npos) << status.ToString();
}

TEST_F(DaemonStreamsTest, StreamsCarryTheRequestIdTheyWereStartedFor) {
  Result<daemonpb::FileInfo> info =
      RunAwaitable(Upload(daemon_.get(), "a.bin", 2, true), "request-up");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  Received got = RunAwaitable(Download(daemon_.get(), "f1", false), "request-down");
  EXPECT_TRUE(got.ended);
  RunAwaitable(Download(daemon_.get(), "f1", false));
  EXPECT_EQ(service_.request_ids(), (std::vector<std::string>{"request-up", "request-down", "-"}));
}

TEST_F(DaemonStreamsTest, EachStreamIsCountedOnceFromStartToItsFinalStatus) {
  ASSERT_TRUE(RunAwaitable(Upload(daemon_.get(), "a.bin", 3, true)).ok());
  EXPECT_EQ(Calls("UploadFile"), 1);
  EXPECT_EQ(Errors("UploadFile"), 0);
  // nexusd's refusal answers the request: no backend error.
  EXPECT_FALSE(RunAwaitable(Upload(daemon_.get(), "refuse", 8, true)).ok());
  EXPECT_EQ(Calls("UploadFile"), 2);
  EXPECT_EQ(Errors("UploadFile"), 0);

  EXPECT_TRUE(RunAwaitable(Download(daemon_.get(), "f1", false)).ended);
  EXPECT_EQ(Calls("DownloadFile"), 1);
  EXPECT_EQ(RunAwaitable(Download(daemon_.get(), "missing", false)).status.code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Calls("DownloadFile"), 2);
  EXPECT_EQ(Errors("DownloadFile"), 0);
  EXPECT_EQ(RunAwaitable(Download(daemon_.get(), "broken", false)).status.code(),
            StatusCode::kInternal);
  EXPECT_EQ(Calls("DownloadFile"), 3);
  EXPECT_EQ(Errors("DownloadFile"), 1);
}

// A stream the gateway gives up itself (its client went away) ends there,
// and is no failure of nexusd's.
TEST_F(DaemonStreamsTest, AStreamDroppedByTheGatewayIsCountedButNotAsAnError) {
  EXPECT_FALSE(RunAwaitable(Upload(daemon_.get(), "a.bin", 2, false)).ok());
  EXPECT_EQ(Calls("UploadFile"), 1);
  EXPECT_EQ(Errors("UploadFile"), 0);
  EXPECT_TRUE(RunAwaitable(Download(daemon_.get(), "endless", true)).header);
  EXPECT_EQ(Calls("DownloadFile"), 1);
  EXPECT_EQ(Errors("DownloadFile"), 0);
}

}  // namespace
}  // namespace nexus::gateway
