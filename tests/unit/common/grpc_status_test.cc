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
