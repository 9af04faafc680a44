// Signed download links: what a token grants, that it expires and cannot be
// altered, and the two routes through the real route table and a scripted
// nexusd (the link download is the owner's own download by path).
#include "gateway/api/download_link.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/api/download_link_handlers.h"
#include "support/fake_clock.h"
#include "unit/gateway/api/files_routes_rig.h"

namespace nexus::gateway {
namespace {

std::string Key(char c) { return std::string(DownloadLinks::kKeyBytes, c); }

TEST(DownloadLinksTest, ATokenGrantsItsOwnerAndPathUntilItExpires) {
  nexus::testing::FakeClock clock;
  DownloadLinks links(clock, Key('k'), 60);
  DownloadLink link = links.Mint("alice", "/docs/a b\n.txt");
  EXPECT_EQ(link.expires_at, clock.NowSeconds() + 60);

  Result<DownloadGrant> grant = links.Verify(link.token);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->owner, "alice");
  EXPECT_EQ(grant->path, "/docs/a b\n.txt");

  clock.AdvanceSeconds(59);
  EXPECT_TRUE(links.Verify(link.token).ok());
  clock.AdvanceSeconds(1);
  EXPECT_EQ(links.Verify(link.token).status().code(), StatusCode::kUnauthenticated);
}

TEST(DownloadLinksTest, RefusesTamperedTruncatedAndForeignTokens) {
  nexus::testing::FakeClock clock;
  DownloadLinks links(clock, Key('k'));
  DownloadLinks other(clock, Key('o'));
  const std::string token = links.Mint("alice", "/a.txt").token;
  const std::string bob = links.Mint("bob", "/a.txt").token;
  const std::size_t dot = token.find('.');

  std::string flipped = token;
  flipped[2] = flipped[2] == 'A' ? 'B' : 'A';
  const std::string cases[] = {
      "",
      ".",
      "garbage",
      token.substr(0, dot),
      token.substr(0, token.size() - 2),
      flipped,
      // Alice's payload under Bob's signature.
      token.substr(0, dot) + bob.substr(bob.find('.')),
      other.Mint("alice", "/a.txt").token,
      token + "=",
  };
  for (const std::string& c : cases) {
    EXPECT_EQ(links.Verify(c).status().code(), StatusCode::kUnauthenticated) << c;
  }
}

class DownloadLinkRoutesTest : public FilesRoutesTest {
 protected:
  DownloadLinkRoutesTest() : links_(clock_, Key('k')) {
    RegisterDownloadLinkRoutes(router_, daemon_, links_);
  }
  // A request without the Authorization header the rig adds.
  Response Anonymous(const std::string& target) {
    last_ = MakeRequest("GET");
    return RunAwaitable(pipeline_.Handle(last_, target));
  }

  nexus::testing::FakeClock clock_;
  DownloadLinks links_;
};

TEST_F(DownloadLinkRoutesTest, ALinkDownloadsThePathWithoutAnAuthorizationHeader) {
  Response minted = PostJson("/api/fs/download-link", R"({"Path":"/docs/a.txt"})");
  ASSERT_EQ(minted.status, 200) << minted.body;
  nlohmann::json j = nlohmann::json::parse(minted.body);
  const std::string url = j["url"];
  EXPECT_TRUE(url.starts_with("/dl/"));
  EXPECT_EQ(j["expires_at"], clock_.NowSeconds() + DownloadLinks::kDefaultLifetimeSeconds);

  daemon_.download_script = {HeaderMessage(3, 0, 3, false), DataMessage("abc")};
  Response r = Anonymous(url);
  ASSERT_EQ(r.status, 200);
  std::string body;
  ASSERT_TRUE(Drain(r, &body).ok());
  EXPECT_EQ(body, "abc");
  ASSERT_EQ(daemon_.download_path_calls.size(), 1u);
  EXPECT_EQ(daemon_.download_path_calls[0].owner(), "alice");
  EXPECT_EQ(daemon_.download_path_calls[0].path(), "/docs/a.txt");
}

TEST_F(DownloadLinkRoutesTest, AnExpiredOrForgedLinkIs401AndReachesNoBackend) {
  const std::string url = "/dl/" + links_.Mint("alice", "/a.txt").token;
  clock_.AdvanceSeconds(DownloadLinks::kDefaultLifetimeSeconds);
  EXPECT_EQ(Anonymous(url).status, 401);
  EXPECT_EQ(Anonymous("/dl/abc.def").status, 401);
  // A query cannot replace the signed path.
  clock_.AdvanceSeconds(-DownloadLinks::kDefaultLifetimeSeconds);
  daemon_.download_script = {HeaderMessage(1, 0, 1, false), DataMessage("x")};
  Response r = Anonymous(url + "?path=/other.txt");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(daemon_.download_path_calls.size(), 1u);
  EXPECT_EQ(daemon_.download_path_calls[0].path(), "/a.txt");
}

TEST_F(DownloadLinkRoutesTest, MintingNeedsATokenAndAPath) {
  Headers h;
  h.Add("Content-Type", "application/json");
  last_ = MakeRequest("POST", R"({"path":"/a"})", h);
  EXPECT_EQ(RunAwaitable(pipeline_.Handle(last_, "/api/fs/download-link")).status, 401);
  EXPECT_EQ(PostJson("/api/fs/download-link", "{}").status, 400);
  EXPECT_EQ(PostJson("/api/fs/download-link", R"({"path":""})").status, 400);
}

}  // namespace
}  // namespace nexus::gateway
