#include "common/config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace nexus {
namespace {

EnvLookup EnvFrom(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(ConfigTest, EmbeddedDefaultsNeedNoFile) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "./var");
  EXPECT_EQ(c->instance, "nexus");
  EXPECT_EQ(c->gateway.listen, "127.0.0.1:8080");
  EXPECT_EQ(c->auth.listen, "unix:./var/run/auth.sock");
  EXPECT_EQ(c->mail.outbox_dir, "./var/mail/outbox");
  EXPECT_EQ(c->auth.otp_ttl_seconds, 300);
  EXPECT_EQ(c->storage.quota_bytes, 10LL << 30);
}

TEST(ConfigTest, TreeEntriesPerUserDefaultToAMillionAndAreConfigurable) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.max_tree_entries, 1000000);
  c = ParseConfig("[storage]\nmax_tree_entries = 50\n", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.max_tree_entries, 50);
  c = ParseConfig("", EnvFrom({{"NEXUS_STORAGE_MAX_TREE_ENTRIES", "7"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.max_tree_entries, 7);
}

TEST(ConfigTest, TomlValuesAreRead) {
  auto c = ParseConfig(R"(
data_dir = "/srv/nexus"
[gateway]
listen = "0.0.0.0:9000"
[auth]
otp_ttl_seconds = 60
[mail]
smtp_url = "smtp://127.0.0.1:2525"
)",
                       EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->gateway.listen, "0.0.0.0:9000");
  EXPECT_EQ(c->auth.otp_ttl_seconds, 60);
  EXPECT_EQ(c->mail.smtp_url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(c->daemon.db_path, "/srv/nexus/nexus.db");
}

TEST(ConfigTest, EnvironmentOverridesFileAndDefaults) {
  auto c = ParseConfig("[auth]\notp_ttl_seconds = 60\n",
                       EnvFrom({{"NEXUS_AUTH_OTP_TTL_SECONDS", "5"},
                                {"NEXUS_DATA_DIR", "/tmp/x"},
                                {"NEXUS_INSTANCE", "t1"},
                                {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:0"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.otp_ttl_seconds, 5);
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_EQ(c->instance, "t1");
  EXPECT_EQ(c->gateway.listen, "127.0.0.1:0");
  EXPECT_EQ(c->auth.db_path, "/tmp/x/auth.db");
}

TEST(ConfigTest, RejectsBadInput) {
  struct Case {
    const char* toml;
    std::map<std::string, std::string> env;
    const char* expect_in_message;
  } cases[] = {
      {"[auth]\nno_such_key = 1\n", {}, "auth.no_such_key"},
      {"bogus = 1\n", {}, "bogus"},
      {"[auth]\notp_ttl_seconds = \"soon\"\n", {}, "must be an integer"},
      {"data_dir = 5\n", {}, "must be a string"},
      {"[auth\n", {}, "line"},
      {"", {{"NEXUS_AUTH_OTP_TTL_SECONDS", "12x"}}, "NEXUS_AUTH_OTP_TTL_SECONDS"},
      {"", {{"NEXUS_INSTANCE", "Bad-Name"}}, "instance"},
      {"[storage]\nchunk_min_bytes = 10\nchunk_avg_bytes = 5\n", {}, "chunk sizes"},
      {"[storage]\nchunk_min_bytes = 65536\nchunk_avg_bytes = 65536\n", {}, "chunk sizes"},
      {"[storage]\nchunk_min_bytes = 32\nchunk_avg_bytes = 65536\n", {}, "chunk sizes"},
      {"[storage]\nchunk_max_bytes = 536870912\n", {}, "chunk sizes"},
      {"[auth]\notp_max_attempts_total = 1000\n", {}, "otp_max_attempts_total"},
      {"[auth]\notp_max_attempts = 10\notp_max_attempts_total = 9\n", {}, "otp_max_attempts_total"},
      {"[auth]\nlogin_failure_burst = 0\n", {}, "login_failure_burst"},
      {"[auth]\nlogin_backoff_seconds = 0\n", {}, "login backoff"},
      {"[auth]\nlogin_backoff_seconds = 60\nlogin_backoff_max_seconds = 30\n", {}, "login backoff"},
      {"", {{"NEXUS_AUTH_LOGIN_BACKOFF_MAX_SECONDS", "86401"}}, "login backoff"},
  };
  for (const auto& tc : cases) {
    auto c = ParseConfig(tc.toml, EnvFrom(tc.env));
    ASSERT_FALSE(c.ok()) << tc.toml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(tc.expect_in_message), std::string::npos)
        << c.status().message();
  }
}

TEST(ConfigTest, SharesOfLongCallsAndTheTransferFloorHaveDefaultsAndOverrides) {
  auto d = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->daemon.max_concurrent_downloads, 64);
  EXPECT_EQ(d->daemon.max_concurrent_downloads_per_user, 8);
  EXPECT_EQ(d->daemon.max_concurrent_uploads, 64);
  EXPECT_EQ(d->daemon.max_concurrent_uploads_per_user, 8);
  EXPECT_EQ(d->daemon.stream_idle_timeout_seconds, 600);
  EXPECT_EQ(d->lambda.max_concurrent_per_user, 0);
  EXPECT_EQ(d->nodes.max_concurrent_execs, 32);
  EXPECT_EQ(d->nodes.max_concurrent_execs_per_user, 4);
  EXPECT_EQ(d->nodes.max_concurrent_changes, 16);
  EXPECT_EQ(d->nodes.max_concurrent_changes_per_user, 4);
  EXPECT_EQ(d->gateway.min_transfer_bytes_per_second, 4096);
  EXPECT_EQ(d->gateway.min_transfer_window_seconds, 30);

  auto c = ParseConfig(
      "[daemon]\nmax_concurrent_downloads_per_user = 2\n"
      "[gateway]\nmin_transfer_bytes_per_second = 0\n",
      EnvFrom({{"NEXUS_NODES_MAX_CONCURRENT_EXECS_PER_USER", "1"},
               {"NEXUS_LAMBDA_MAX_CONCURRENT_PER_USER", "3"},
               {"NEXUS_DAEMON_STREAM_IDLE_TIMEOUT_SECONDS", "5"},
               {"NEXUS_GATEWAY_MIN_TRANSFER_WINDOW_SECONDS", "2"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->daemon.max_concurrent_downloads_per_user, 2);
  EXPECT_EQ(c->gateway.min_transfer_bytes_per_second, 0);
  EXPECT_EQ(c->nodes.max_concurrent_execs_per_user, 1);
  EXPECT_EQ(c->lambda.max_concurrent_per_user, 3);
  EXPECT_EQ(c->daemon.stream_idle_timeout_seconds, 5);
  EXPECT_EQ(c->gateway.min_transfer_window_seconds, 2);

  struct Case {
    const char* toml;
    const char* expect_in_message;
  } bad[] = {
      {"[gateway]\nmin_transfer_bytes_per_second = -1\n", "min_transfer_bytes_per_second"},
      {"[gateway]\nmin_transfer_window_seconds = 0\n", "min_transfer_window_seconds"},
      {"[daemon]\nstream_idle_timeout_seconds = 0\n", "stream_idle_timeout_seconds"},
  };
  for (const auto& tc : bad) {
    auto r = ParseConfig(tc.toml, EnvFrom({}));
    ASSERT_FALSE(r.ok()) << tc.toml;
    EXPECT_NE(r.status().message().find(tc.expect_in_message), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace nexus
