// The S3 API's one route: every method on every path of the S3 listener
// (path-style /bucket/key, or virtual-host style: s3_address.h), registered
// on a router of its own.
//
// Each request is authenticated by its SigV4 signature (sigv4.h): the
// access key's owner and secret come from nexus-auth (GetS3KeySecret, on
// every request: a deleted key fails at once), then the request is
// dispatched to its operation (s3_ops.h) acting as that owner. Nothing
// answers without a valid signature, and an owner sees only their own tree.
// Errors are S3's XML documents. Operations not implemented (multipart
// uploads, versioning, ACLs, ...) answer
// 501 NotImplemented.
// `auth`, `daemon` and `clock` must outlive the router. Thread-safe.
#pragma once

#include <string>

#include "common/clock.h"
#include "gateway/backends/auth_client.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/router.h"

namespace nexus::gateway::s3 {

struct S3Settings {
  std::string region = "us-east-1";
  std::string domain;  // virtual-host style for buckets below it (s3_address.h); "": off
};

void RegisterS3Routes(Router& router, AuthClient& auth, DaemonClient& daemon, const Clock& clock,
                      S3Settings settings);

}  // namespace nexus::gateway::s3
