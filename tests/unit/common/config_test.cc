#include "common/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "common/memory_env.h"

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
  EXPECT_EQ(c->gateway.download_link_key_file, "./var/download-link.key");
  EXPECT_EQ(c->auth.otp_ttl_seconds, 300);
  EXPECT_EQ(c->storage.quota_bytes, 10LL << 30);
  EXPECT_EQ(c->runtime_dir, "/run/nexus-nexus");
}

TEST(ConfigTest, ChunksAreOnTheFilesystemUnlessAnS3UrlIsGiven) {
  auto defaults = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->storage.chunks, "fs");
  EXPECT_EQ(defaults->storage.s3_sweep_grace_seconds, 3600);
  EXPECT_EQ(defaults->storage.s3_max_attempts, 5);
  auto s3 = ParseConfig("[storage]\nchunks = \"s3://b?endpoint=http://127.0.0.1:9000\"\n",
                        EnvFrom({{"NEXUS_STORAGE_S3_ACCESS_KEY", "AK"},
                                 {"NEXUS_STORAGE_S3_SECRET_KEY_FILE", "/etc/nexus/s3.secret"}}));
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  EXPECT_EQ(s3->storage.chunks, "s3://b?endpoint=http://127.0.0.1:9000");
  EXPECT_EQ(s3->storage.s3_access_key, "AK");
  EXPECT_EQ(s3->storage.s3_secret_key_file, "/etc/nexus/s3.secret");
}

TEST(ConfigTest, LogFormatIsTextOrJson) {
  EXPECT_EQ(ParseConfig("", EnvFrom({}))->log_format, "text");
  EXPECT_EQ(ParseConfig("log_format = \"json\"", EnvFrom({}))->log_format, "json");
  auto bad = ParseConfig("", EnvFrom({{"NEXUS_LOG_FORMAT", "xml"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("log_format"), std::string::npos);
}

TEST(ConfigTest, TlsCertAndKeyComeTogether) {
  auto both = ParseConfig("[gateway]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n", EnvFrom({}));
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->gateway.tls_cert, "c.pem");
  auto one = ParseConfig("[gateway]\ntls_cert = \"c.pem\"\n", EnvFrom({}));
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.status().message().find("tls_key"), std::string::npos);
}

TEST(ConfigTest, ShutdownGraceIsBounded) {
  EXPECT_EQ(ParseConfig("", EnvFrom({}))->shutdown_grace_seconds, 30);
  EXPECT_FALSE(ParseConfig("shutdown_grace_seconds = 0", EnvFrom({})).ok());
}

TEST(ConfigTest, LoadsTheFileAndNamesOneItCannotRead) {
  MemoryEnv files;
  files.PutFile("/etc/nexus/nexus.toml", "data_dir = \"/srv/nexus\"\n");
  auto c = LoadConfig(files, "/etc/nexus/nexus.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/srv/nexus");

  c = LoadConfig(files, "/etc/nexus/missing.toml");
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("/etc/nexus/missing.toml"), std::string::npos);
}

TEST(ConfigTest, ScrapeTokenIsEmptyByDefaultAndSetByFileOrEnvironment) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metrics.scrape_token, "");
  c = ParseConfig("[metrics]\nscrape_token = \"from-file\"\n",
                  EnvFrom({{"NEXUS_METRICS_SCRAPE_TOKEN", "from-env"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->metrics.scrape_token, "from-env");
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

TEST(ConfigTest, StorageMetadataIsSqliteOrAPostgresUriAndAnErrorNeverEchoesIt) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.metadata, "sqlite");
  c = ParseConfig("[storage]\nmetadata = \"postgresql:///nexus?host=/run/postgresql\"\n",
                  EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.metadata, "postgresql:///nexus?host=/run/postgresql");
  c = ParseConfig("", EnvFrom({{"NEXUS_STORAGE_METADATA", "postgres://u:pw@db/nexus"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.metadata, "postgres://u:pw@db/nexus");
  c = ParseConfig("", EnvFrom({{"NEXUS_STORAGE_METADATA", "mysql://u:secret@db/nexus"}}));
  ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().find("secret"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, MetadataConnectionsDefaultToFourAndStayInRange) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.metadata_connections, 4);
  c = ParseConfig("", EnvFrom({{"NEXUS_STORAGE_METADATA_CONNECTIONS", "16"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.metadata_connections, 16);
  for (const char* bad : {"0", "257"}) {
    c = ParseConfig(std::string("[storage]\nmetadata_connections = ") + bad + "\n", EnvFrom({}));
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ConfigTest, AuthMetadataIsSqliteOrAPostgresUriAndAnErrorNeverEchoesIt) {
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.metadata, "sqlite");
  c = ParseConfig("[auth]\nmetadata = \"postgresql:///nexus?host=/run/postgresql\"\n", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.metadata, "postgresql:///nexus?host=/run/postgresql");
  c = ParseConfig("", EnvFrom({{"NEXUS_AUTH_METADATA", "postgres://u:pw@db/nexus"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.metadata, "postgres://u:pw@db/nexus");
  EXPECT_EQ(c->storage.metadata, "sqlite") << "each service has its own setting";
  c = ParseConfig("", EnvFrom({{"NEXUS_AUTH_METADATA", "mysql://u:secret@db/nexus"}}));
  ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("auth.metadata"), std::string::npos);
  EXPECT_EQ(c.status().message().find("secret"), std::string::npos) << c.status().message();
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
  EXPECT_EQ(c->runtime_dir, "/run/nexus-t1") << "named after the instance, not the data dir";
}

TEST(ConfigTest, TheDaemonsHostNameIsTheMachinesUnlessSet) {
  char name[256] = {};
  ASSERT_EQ(::gethostname(name, sizeof(name) - 1), 0);
  auto c = ParseConfig("", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->daemon.host_name, name);
  c = ParseConfig("[daemon]\nhost_name = \"rack2-n7\"\n", EnvFrom({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->daemon.host_name, "rack2-n7");
}

TEST(ConfigTest, AHostNameIsLettersDigitsDotsDashesAndUnderscores) {
  EXPECT_TRUE(ParseConfig("", EnvFrom({{"NEXUS_DAEMON_HOST_NAME", "node-1.example_a"}})).ok());
  for (const char* bad : {"a;b", "a=b", "a b", "a/b"}) {
    auto c = ParseConfig("", EnvFrom({{"NEXUS_DAEMON_HOST_NAME", bad}}));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("daemon.host_name"), std::string::npos);
  }
}

TEST(ConfigTest, ADaemonListensOnTcpOnlyWithMutualTls) {
  auto bare = ParseConfig("[daemon]\nlisten = \"10.0.0.2:7443\"\n", EnvFrom({}));
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("tls_client_ca"), std::string::npos);
  auto partial = ParseConfig(
      "[daemon]\nlisten = \"10.0.0.2:7443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
      EnvFrom({}));
  EXPECT_FALSE(partial.ok());
  EXPECT_TRUE(ParseConfig("[daemon]\nlisten = \"10.0.0.2:7443\"\ntls_cert = \"c.pem\"\n"
                          "tls_key = \"k.pem\"\ntls_client_ca = \"ca.pem\"\n",
                          EnvFrom({}))
                  .ok());
  EXPECT_FALSE(ParseConfig("[gateway]\ndaemon_tls_ca = \"ca.pem\"\n", EnvFrom({})).ok())
      << "the gateway's three come together too";
}

TEST(ConfigTest, AGatewayCallsTheDaemonsListedOrElseDaemonListen) {
  auto alone = ParseConfig("", EnvFrom({{"NEXUS_DATA_DIR", "/srv/n"}}));
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(GatewayDaemonAddresses(*alone),
            std::vector<std::string>{"unix:/srv/n/run/nexusd.sock"});
  auto listed =
      ParseConfig("", EnvFrom({{"NEXUS_GATEWAY_DAEMONS", " 10.0.0.2:7443, unix:/run/b.sock ,,"}}));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(GatewayDaemonAddresses(*listed),
            (std::vector<std::string>{"10.0.0.2:7443", "unix:/run/b.sock"}));
  auto bad = ParseConfig("", EnvFrom({{"NEXUS_GATEWAY_DAEMONS", "10.0.0.2"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("gateway.daemons"), std::string::npos);
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
      {"[auth]\nlogin_backoff_seconds = 0\n", {}, "login_backoff_seconds"},
      {"[auth]\nlogin_backoff_seconds = 60\nlogin_backoff_max_seconds = 30\n", {}, "login backoff"},
      {"", {{"NEXUS_AUTH_LOGIN_BACKOFF_MAX_SECONDS", "86401"}}, "LOGIN_BACKOFF_MAX_SECONDS"},
      {"[storage]\ns3_secret_key = \"s\"\ns3_secret_key_file = \"/k\"\n", {}, "not both"},
      {"[storage]\ns3_max_attempts = 0\n", {}, "storage.s3_max_attempts"},
      {"", {{"NEXUS_STORAGE_S3_SWEEP_GRACE_SECONDS", "-1"}}, "S3_SWEEP_GRACE_SECONDS"},
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
  EXPECT_EQ(d->daemon.max_concurrent_downloads_per_user, 16);
  EXPECT_EQ(d->daemon.max_concurrent_uploads, 64);
  EXPECT_EQ(d->daemon.max_concurrent_uploads_per_user, 16);
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

// Integer settings are whole numbers within their row's bounds, from the
// file or the environment: overflow, fractions, floats, blanks and signs are
// start-up errors naming the key (or variable) and the range.
TEST(ConfigTest, IntegersOutsideTheirRangeOrNotWholeAreStartUpErrors) {
  struct Case {
    const char* toml;
    std::map<std::string, std::string> env;
    const char* message;
  } cases[] = {
      {"",
       {{"NEXUS_STORAGE_QUOTA_BYTES", "9223372036854775808"}},
       "environment variable NEXUS_STORAGE_QUOTA_BYTES must be an integer from -1 to "
       "1152921504606846976"},
      {"", {{"NEXUS_STORAGE_QUOTA_BYTES", "18446744073709551616"}}, "NEXUS_STORAGE_QUOTA_BYTES"},
      {"", {{"NEXUS_STORAGE_QUOTA_BYTES", "99999999999999999999999"}}, "NEXUS_STORAGE_QUOTA_BYTES"},
      {"", {{"NEXUS_STORAGE_QUOTA_BYTES", "-9223372036854775809"}}, "NEXUS_STORAGE_QUOTA_BYTES"},
      {"", {{"NEXUS_STORAGE_QUOTA_BYTES", "-2"}}, "NEXUS_STORAGE_QUOTA_BYTES"},
      {"",
       {{"NEXUS_LAMBDA_MEMORY_MB_MAX", "9223372036854775807"}},
       "environment variable NEXUS_LAMBDA_MEMORY_MB_MAX must be an integer from 1 to 1048576"},
      {"", {{"NEXUS_LAMBDA_TIMEOUT_MS_MAX", "9223372036854775807"}}, "NEXUS_LAMBDA_TIMEOUT_MS_MAX"},
      {"", {{"NEXUS_GATEWAY_BACKEND_TIMEOUT_MS", "0"}}, "NEXUS_GATEWAY_BACKEND_TIMEOUT_MS"},
      {"", {{"NEXUS_NODES_MAX_MEMORY_MB", "17592186044416"}}, "NEXUS_NODES_MAX_MEMORY_MB"},
      {"", {{"NEXUS_NETWORK_IP_MASQ", "2"}}, "NEXUS_NETWORK_IP_MASQ"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", "1e30"}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", "1.5"}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", " 5"}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", "5 "}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", "+5"}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", ""}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"", {{"NEXUS_AUTH_JWT_TTL_HOURS", "0x10"}}, "NEXUS_AUTH_JWT_TTL_HOURS"},
      {"[storage]\nquota_bytes = 9223372036854775807\n",
       {},
       "config key 'storage.quota_bytes' must be an integer from -1 to 1152921504606846976"},
      {"[lambda]\ntimeout_ms_max = 1e30\n",
       {},
       "config key 'lambda.timeout_ms_max' must be an integer from 1 to 86400000"},
      {"[lambda]\ntimeout_ms_max = 1000.0\n", {}, "lambda.timeout_ms_max"},
      {"[lambda]\ntimeout_ms_max = 1.5\n", {}, "lambda.timeout_ms_max"},
      {"[lambda]\ntimeout_ms_max = -1\n", {}, "lambda.timeout_ms_max"},
      {"[lambda]\ntimeout_ms_max = inf\n", {}, "lambda.timeout_ms_max"},
      // toml++ refuses an integer beyond int64 itself, at its line.
      {"[lambda]\ntimeout_ms_max = 9223372036854775808\n", {}, "line 2"},
  };
  for (const auto& tc : cases) {
    auto c = ParseConfig(tc.toml, EnvFrom(tc.env));
    ASSERT_FALSE(c.ok()) << tc.toml << (tc.env.empty() ? "" : tc.env.begin()->second);
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(tc.message), std::string::npos) << c.status().message();
  }
}

TEST(ConfigTest, ListenAddressesAreASocketPathOrAPortFrom0To65535) {
  struct Case {
    const char* variable;
    const char* value;
    bool ok;
  } cases[] = {
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:0", true},
      {"NEXUS_GATEWAY_LISTEN", "[::1]:65535", true},
      {"NEXUS_GATEWAY_LISTEN", "localhost:8080", true},
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:65536", false},
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:99999", false},  // listened on 34463
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:18446744073709551617", false},
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:-1", false},
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1:http", false},
      {"NEXUS_GATEWAY_LISTEN", "127.0.0.1", false},
      {"NEXUS_GATEWAY_LISTEN", ":80", true},  // every address
      {"NEXUS_AUTH_LISTEN", "unix:/run/auth.sock", true},
      {"NEXUS_AUTH_LISTEN", "127.0.0.1:99999", false},
      {"NEXUS_AUTH_LISTEN", "unix:", false},
      {"NEXUS_DAEMON_LISTEN", "unix:///run/d.sock", true},
      {"NEXUS_DAEMON_LISTEN", "127.0.0.1:70000", false},
  };
  for (const auto& tc : cases) {
    auto c = ParseConfig("", EnvFrom({{tc.variable, tc.value}}));
    EXPECT_EQ(c.ok(), tc.ok) << tc.variable << "=" << tc.value << ": "
                             << (c.ok() ? "" : c.status().message());
  }
}

TEST(ConfigTest, IntegersAtTheirBoundsAreTaken) {
  auto c = ParseConfig(
      "[storage]\nquota_bytes = 1152921504606846976\n[lambda]\n"
      "timeout_ms_max = 86400000\n",
      EnvFrom({{"NEXUS_NETWORK_IP_MASQ", "1"},
               {"NEXUS_GATEWAY_THREADS", "0"},
               {"NEXUS_LAMBDA_MEMORY_MB_MAX", "1048576"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.quota_bytes, int64_t{1} << 60);
  EXPECT_EQ(c->lambda.timeout_ms_max, 86400000);
  EXPECT_EQ(c->lambda.memory_mb_max, 1048576);
  EXPECT_EQ(c->network.ip_masq, 1);
  auto unlimited = ParseConfig("", EnvFrom({{"NEXUS_STORAGE_QUOTA_BYTES", "-1"}}));
  ASSERT_TRUE(unlimited.ok()) << unlimited.status().ToString();
  EXPECT_EQ(unlimited->storage.quota_bytes, -1);
}

}  // namespace
}  // namespace nexus
