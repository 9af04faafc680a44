#include "auth/mailer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "common/memory_env.h"
#include "support/fake_clock.h"

namespace nexus::auth {
namespace {

// A port on 127.0.0.1 that nothing listens on: bound, then released.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Just enough of an SMTP server for one message, on a thread: records the
// envelope and the DATA it receives.
class OneShotSmtpServer {
 public:
  OneShotSmtpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotSmtpServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // unblocks accept if no client came
    Join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  // Valid after the client is done (the destructor or Join).
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string commands;  // every command line, "\n"-separated
  std::string data;      // the message as received

 private:
  void Serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buf;
    auto send = [&](const std::string& s) { (void)::write(fd, s.data(), s.size()); };
    auto read_until = [&](const std::string& end) -> std::string {
      for (;;) {
        auto pos = buf.find(end);
        if (pos != std::string::npos) {
          std::string out = buf.substr(0, pos);
          buf.erase(0, pos + end.size());
          return out;
        }
        char tmp[4096];
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n <= 0) return "";
        buf.append(tmp, static_cast<size_t>(n));
      }
    };
    send("220 test ESMTP\r\n");
    for (;;) {
      std::string line = read_until("\r\n");
      if (line.empty()) break;
      commands += line + "\n";
      std::string verb = line.substr(0, 4);
      if (verb == "EHLO" || verb == "HELO") {
        send("250 test\r\n");
      } else if (verb == "DATA") {
        send("354 go ahead\r\n");
        data = read_until("\r\n.\r\n");
        send("250 queued\r\n");
      } else if (verb == "QUIT") {
        send("221 bye\r\n");
        break;
      } else {
        send("250 ok\r\n");
      }
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

class MailerTest : public ::testing::Test {
 protected:
  nexus::testing::FakeClock clock_{1'700'000'000'000};  // Tue, 14 Nov 2023 22:13:20 UTC
  MemoryEnv env_;
};

TEST_F(MailerTest, FormatsRfc5322MessageWithCrlf) {
  auto m = FormatMessage({"Nexus <nexus@localhost>", "alice@example.com", "Your Nexus code",
                          1'700'000'000, "<abc@localhost>"},
                         "Hello\n\n123456\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::string want =
      "From: Nexus <nexus@localhost>\r\n"
      "To: alice@example.com\r\n"
      "Subject: Your Nexus code\r\n"
      "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "Message-ID: <abc@localhost>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "Hello\r\n\r\n123456\r\n";
  EXPECT_EQ(*m, want);
}

TEST_F(MailerTest, RefusesHeaderInjection) {
  const MailHeaders cases[] = {
      {"a@b", "alice@example.com\r\nBcc: eve@example.com", "s", 0, "<x@y>"},
      {"a@b", "alice@example.com", "subject\nBcc: eve@example.com", 0, "<x@y>"},
      {"a@b\r", "alice@example.com", "s", 0, "<x@y>"},
  };
  for (const auto& h : cases) {
    auto m = FormatMessage(h, "body");
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(MailerTest, EncodesNonAsciiSubject) {
  auto m = FormatMessage({"a@b", "c@d", "Código", 0, "<x@y>"}, "b");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("Subject: =?UTF-8?B?Q8OzZGlnbw==?=\r\n"), std::string::npos) << *m;
}

TEST_F(MailerTest, ExtractsAddressesAndRedactsUrls) {
  EXPECT_EQ(AddressOf("Nexus <nexus@localhost>"), "nexus@localhost");
  EXPECT_EQ(AddressOf("nexus@localhost"), "nexus@localhost");
  EXPECT_EQ(RedactUrl("smtp://user:secret@mail.example.com:587"), "smtp://mail.example.com:587");
  EXPECT_EQ(RedactUrl("smtps://mail.example.com"), "smtps://mail.example.com");
  EXPECT_EQ(RedactUrl("smtp://host/p@th"), "smtp://host/p@th");
  std::string id = NewMessageId("Nexus <nexus@example.org>");
  EXPECT_EQ(id.front(), '<');
  EXPECT_NE(id.find("@example.org>"), std::string::npos);
  EXPECT_NE(id, NewMessageId("Nexus <nexus@example.org>"));
}

TEST_F(MailerTest, OutboxWritesOneCompleteFilePerMessage) {
  const std::string outbox = "/data/mail/outbox";  // created on demand
  OutboxMailer mailer(env_, outbox, "Nexus <nexus@localhost>", clock_);
  ASSERT_TRUE(mailer.Send("alice@example.com", "Your Nexus code", "Code:\n\n123456\n").ok());
  clock_.AdvanceMillis(1);
  ASSERT_TRUE(mailer.Send("bob@example.com", "Your Nexus code", "Code:\n\n654321\n").ok());

  auto files = env_.ListDir(outbox);  // sorted: sending order
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_TRUE(files->at(0).ends_with(".eml"));
  std::string first = *env_.ReadFile(outbox + "/" + files->at(0), 1 << 20);
  EXPECT_NE(first.find("To: alice@example.com\r\n"), std::string::npos);
  EXPECT_NE(first.find("\r\n123456\r\n"), std::string::npos);
  std::string second = *env_.ReadFile(outbox + "/" + files->at(1), 1 << 20);
  EXPECT_NE(second.find("\r\n654321\r\n"), std::string::npos);
}

TEST_F(MailerTest, OutboxMailIsForItsOwnerOnly) {
  const std::string outbox = "/data/mail/outbox";
  OutboxMailer mailer(env_, outbox, "Nexus <nexus@localhost>", clock_);
  Status s = mailer.Send("alice@example.com", "Your Nexus code", "Code:\n\n123456\n");
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const std::string& d : {std::string("/data/mail"), outbox}) {
    EXPECT_EQ(env_.Stat(d)->mode, 0700u) << d;
  }
  auto files = env_.ListDir(outbox);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(env_.Stat(outbox + "/" + files->at(0))->mode, 0600u);
}

TEST_F(MailerTest, OutboxThatCannotBeWrittenIsUpstreamFailed) {
  const std::string not_a_dir = "/data/file";
  env_.PutFile(not_a_dir, "x");
  OutboxMailer mailer(env_, not_a_dir, "a@b", clock_);
  Status s = mailer.Send("alice@example.com", "s", "b");
  EXPECT_EQ(s.code(), StatusCode::kUpstreamFailed) << s.ToString();
}

TEST_F(MailerTest, SmtpToClosedPortIsUpstreamFailed) {
  MailConfig cfg;
  cfg.smtp_url = "smtp://127.0.0.1:" + std::to_string(ClosedPort());
  cfg.timeout_seconds = 5;
  SmtpMailer mailer(cfg, clock_);
  Status s = mailer.Send("alice@example.com", "Your Nexus code", "123456");
  EXPECT_EQ(s.code(), StatusCode::kUpstreamFailed);
  EXPECT_NE(s.message().find("127.0.0.1"), std::string::npos) << s.ToString();
}

TEST_F(MailerTest, SmtpDeliversEnvelopeAndMessage) {
  OneShotSmtpServer server;
  MailConfig cfg;
  cfg.smtp_url = "smtp://127.0.0.1:" + std::to_string(server.port());
  cfg.from = "Nexus <nexus@localhost>";
  cfg.timeout_seconds = 10;
  SmtpMailer mailer(cfg, clock_);
  Status s = mailer.Send("alice@example.com", "Your Nexus code", "Your code:\n\n123456\n");
  ASSERT_TRUE(s.ok()) << s.ToString();
  server.Join();
  EXPECT_NE(server.commands.find("MAIL FROM:<nexus@localhost>"), std::string::npos)
      << server.commands;
  EXPECT_NE(server.commands.find("RCPT TO:<alice@example.com>"), std::string::npos)
      << server.commands;
  EXPECT_NE(server.data.find("Subject: Your Nexus code\r\n"), std::string::npos) << server.data;
  EXPECT_NE(server.data.find("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  // The CRLF ending the body is the first half of the "\r\n.\r\n" terminator.
  const std::string tail = "\r\n\r\n123456";
  ASSERT_GE(server.data.size(), tail.size());
  EXPECT_EQ(server.data.substr(server.data.size() - tail.size()), tail) << server.data;
}

TEST_F(MailerTest, FactoryPicksOutboxWithoutSmtpUrl) {
  MailConfig cfg;
  cfg.outbox_dir = "/data/outbox";
  auto mailer = MakeMailer(cfg, clock_, env_);
  EXPECT_NE(dynamic_cast<OutboxMailer*>(mailer.get()), nullptr);
  cfg.smtp_url = "smtp://127.0.0.1:25";
  EXPECT_NE(dynamic_cast<SmtpMailer*>(MakeMailer(cfg, clock_, env_).get()), nullptr);
}

}  // namespace
}  // namespace nexus::auth
