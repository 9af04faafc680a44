#include "common/grpc_status.h"

#include <gtest/gtest.h>

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
