#include "common/grpc_status.h"

#include <gtest/gtest.h>

#include "common/insufficient_storage.h"

namespace nexus {
namespace {

TEST(GrpcStatusTest, NexusCodesSurviveTheRoundTrip) {
  StatusCode codes[] = {StatusCode::kInvalidArgument, StatusCode::kUnauthenticated,
                        StatusCode::kNotFound,        StatusCode::kAlreadyExists,
                        StatusCode::kQuotaExceeded,   StatusCode::kUpstreamFailed,
                        StatusCode::kPayloadTooLarge, StatusCode::kUnimplemented};
  for (auto code : codes) {
    Status back = FromGrpcStatus(ToGrpcStatus(Status(code, "m")));
    EXPECT_EQ(back.code(), code) << StatusCodeName(code);
    EXPECT_EQ(back.message(), "m");
  }
}

TEST(GrpcStatusTest, RetryAfterSurvivesTheRoundTrip) {
  Status back = FromGrpcStatus(ToGrpcStatus(RateLimitedError("wait", 30)));
  EXPECT_EQ(back.code(), StatusCode::kRateLimited);
  EXPECT_EQ(back.retry_after_seconds(), 30);
}

TEST(GrpcStatusTest, RetryAfterFromTheDetailsIsBoundedAndNeverWraps) {
  struct Case {
    const char* seconds;
    int want;
  } cases[] = {
      {"30", 30},
      {"0", 0},
      {"86400", 86400},
      {"86401", 86400},
      {"2147483648", 86400},  // INT32_MAX + 1: atoi's undefined behaviour
      {"99999999999999999999999", 86400},
      {"-5", 0},
      {"", 0},
      {"x", 0},
  };
  for (const auto& c : cases) {
    grpc::Status wire(
        grpc::StatusCode::RESOURCE_EXHAUSTED, "wait",
        std::string(StatusCodeName(StatusCode::kRateLimited)) + ";retry_after=" + c.seconds);
    EXPECT_EQ(FromGrpcStatus(wire).retry_after_seconds(), c.want) << c.seconds;
  }
}

TEST(GrpcStatusTest, TheReasonSurvivesTheRoundTripBesideRetryAfter) {
  Status sent =
      UnavailableError("busy").set_retry_after_seconds(2).set_reason(Reason::kBackendDown);
  grpc::Status wire = ToGrpcStatus(sent);
  EXPECT_EQ(wire.error_details(), "unavailable;retry_after=2;reason=backend_down");
  Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), StatusCode::kUnavailable);
  EXPECT_EQ(back.retry_after_seconds(), 2);
  EXPECT_EQ(back.reason(), Reason::kBackendDown);
  EXPECT_EQ(back.message(), "busy");
  EXPECT_EQ(ToGrpcStatus(NotFoundError("x")).error_details(), "not_found");
}

TEST(GrpcStatusTest, TheHostOfANodeOnAnotherDaemonSurvivesTheRoundTrip) {
  Status sent = UnavailableError("node 'web' runs on host b")
                    .set_reason(Reason::kNodeOnOtherHost)
                    .set_node_host("b.example");
  Status back = FromGrpcStatus(ToGrpcStatus(sent.WithContext("start")));
  EXPECT_EQ(back.code(), StatusCode::kUnavailable);
  EXPECT_EQ(back.reason(), Reason::kNodeOnOtherHost);
  EXPECT_EQ(back.node_host(), "b.example");
  EXPECT_EQ(back.message(), "start: node 'web' runs on host b");
}

TEST(GrpcStatusTest, AHostNameThatWouldBreakTheFieldsIsLeftOut) {
  for (const char* host : {"a;reason=backend_down", "a=b", ""}) {
    Status back = FromGrpcStatus(ToGrpcStatus(
        UnavailableError("m").set_reason(Reason::kNodeOnOtherHost).set_node_host(host)));
    EXPECT_EQ(back.reason(), Reason::kNodeOnOtherHost) << host;
    EXPECT_EQ(back.node_host(), "") << host;
  }
}

TEST(GrpcStatusTest, DetailsAreReadLenientlyWhateverThePeersVersion) {
  struct Case {
    const char* details;
    StatusCode code;
    int retry_after;
    Reason reason;
  } cases[] = {
      {"unavailable", StatusCode::kUnavailable, 0, Reason::kNone},
      {"rate_limited;retry_after=5", StatusCode::kRateLimited, 5, Reason::kNone},
      {"unavailable;reason=backend_down", StatusCode::kUnavailable, 0, Reason::kBackendDown},
      {"unavailable;reason=backend_down;retry_after=4", StatusCode::kUnavailable, 4,
       Reason::kBackendDown},
      {"unavailable;reason=from_the_future", StatusCode::kUnavailable, 0, Reason::kNone},
      {"unavailable;color=blue;reason=nodes_unsupported_here", StatusCode::kUnavailable, 0,
       Reason::kNodesUnsupportedHere},
      {"unavailable;;junk;=;retry_after=1", StatusCode::kUnavailable, 1, Reason::kNone},
  };
  for (const auto& c : cases) {
    Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "m", c.details));
    EXPECT_EQ(s.code(), c.code) << c.details;
    EXPECT_EQ(s.retry_after_seconds(), c.retry_after) << c.details;
    EXPECT_EQ(s.reason(), c.reason) << c.details;
    EXPECT_EQ(s.message(), "m") << c.details;
  }
}

TEST(GrpcStatusTest, HostDetailsNeverCrossTheWire) {
  Status nodes = UnavailableError("nodes need root, runc and the CNI plugins (no /opt/cni/bin)")
                     .set_reason(Reason::kNodesUnsupportedHere);
  grpc::Status wire = ToGrpcStatus(nodes);
  EXPECT_EQ(wire.error_message(), ReasonClientMessage(Reason::kNodesUnsupportedHere));
  EXPECT_EQ(FromGrpcStatus(wire).reason(), Reason::kNodesUnsupportedHere);

  Status lambda = UnavailableError("lambda needs root and runc (runc not found)")
                      .set_reason(Reason::kLambdaUnsupportedHere);
  EXPECT_EQ(ToGrpcStatus(lambda).error_message(),
            ReasonClientMessage(Reason::kLambdaUnsupportedHere));
  // A message without such a reason is the sender's to show.
  EXPECT_EQ(ToGrpcStatus(UnavailableError("node 'w' is being created")).error_message(),
            "node 'w' is being created");
}

TEST(GrpcStatusTest, AFullDiskCrossesTheWireAsInsufficientStorageAlone) {
  Status full = InsufficientStorageError().WithContext("upload 'docs/a.txt'");
  ASSERT_TRUE(IsInsufficientStorage(full));
  grpc::Status wire = ToGrpcStatus(full);
  EXPECT_EQ(wire.error_message(), "insufficient storage");
  Status received = FromGrpcStatus(wire);
  EXPECT_EQ(received.code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(IsInsufficientStorage(received));
}

TEST(GrpcStatusTest, AQuotaErrorIsNeverInsufficientStorageWhateverItsText) {
  Status quota = QuotaExceededError("quota of 'bob' is full, not insufficient storage");
  EXPECT_FALSE(IsInsufficientStorage(quota));
  EXPECT_EQ(ToGrpcStatus(quota).error_message(), quota.message());
}

TEST(GrpcStatusTest, ForAClientAnInternalMessageBecomesInternalError) {
  grpc::Status s = ToGrpcStatusForClient("upload", InternalError("open '/srv/data/x': EIO"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "internal error");
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kInternal);

  grpc::Status lambda = ToGrpcStatusForClient(
      "run",
      UnavailableError("lambda needs /usr/bin/python3").set_reason(Reason::kLambdaUnsupportedHere));
  EXPECT_EQ(lambda.error_message(), ReasonClientMessage(Reason::kLambdaUnsupportedHere));

  grpc::Status mine = ToGrpcStatusForClient("get", NotFoundError("file 'a.txt' not found"));
  EXPECT_EQ(mine.error_message(), "file 'a.txt' not found");
  EXPECT_TRUE(ToGrpcStatusForClient("get", Status::Ok()).ok());
}

TEST(GrpcStatusTest, TransportFailuresMeanBackendUnavailable) {
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled")).code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace nexus
