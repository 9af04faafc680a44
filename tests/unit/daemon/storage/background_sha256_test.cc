#include "daemon/storage/background_sha256.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::PseudoRandomBytes;

// Hands `data` over in pieces of `piece` bytes, each its own owner; every
// `inline_every`-th piece (0: none) goes inline (no owner) instead.
Sha256Digest HashInPieces(BackgroundSha256& hash, std::string_view data, size_t piece,
                          size_t inline_every = 0) {
  size_t k = 0;
  for (size_t at = 0; at < data.size(); at += piece, ++k) {
    std::string_view bytes = data.substr(at, piece);
    if (inline_every != 0 && k % inline_every == 0) {
      hash.Update(bytes, nullptr);
    } else {
      auto owned = std::make_shared<const std::string>(bytes);
      hash.Update(*owned, owned);
    }
  }
  return hash.Finish();
}

TEST(BackgroundSha256Test, DigestEqualsTheOrdinaryOneWhateverThePieces) {
  const std::string data = PseudoRandomBytes(10 << 20, 31);  // over the queue limit
  const Sha256Digest want = Sha256::Digest(data);
  struct Case {
    size_t piece;
    size_t inline_every;
  };
  const Case cases[] = {{1 << 20, 0}, {4096, 0}, {65536, 3}, {1000, 1}, {data.size(), 0}};
  for (const Case& c : cases) {
    BackgroundSha256 hash;
    EXPECT_EQ(HashInPieces(hash, data, c.piece, c.inline_every), want)
        << "pieces of " << c.piece << ", every " << c.inline_every << " inline";
  }
}

TEST(BackgroundSha256Test, FinishStartsANewMessage) {
  const std::string a = PseudoRandomBytes(300000, 32);
  const std::string b = PseudoRandomBytes(200000, 33);
  BackgroundSha256 hash;
  EXPECT_EQ(HashInPieces(hash, a, 7777), Sha256::Digest(a));
  EXPECT_EQ(HashInPieces(hash, b, 5555), Sha256::Digest(b));
  EXPECT_EQ(hash.Finish(), Sha256::Digest(""));
}

TEST(BackgroundSha256Test, OwnersAreReleasedOnceHashed) {
  BackgroundSha256 hash;
  std::vector<std::weak_ptr<const std::string>> watch;
  for (int i = 0; i < 50; ++i) {
    auto owned = std::make_shared<const std::string>(100000, static_cast<char>('a' + i % 26));
    watch.push_back(owned);
    hash.Update(*owned, owned);
  }
  hash.Finish();
  for (const auto& w : watch) EXPECT_TRUE(w.expired());
}

TEST(BackgroundSha256Test, DestroyingItUnfinishedDropsWhatIsQueued) {
  std::weak_ptr<const std::string> watch;
  {
    BackgroundSha256 hash;
    auto owned = std::make_shared<const std::string>(1 << 20, 'x');
    watch = owned;
    const std::string_view bytes = *owned;
    hash.Update(bytes, std::move(owned));
  }
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace nexus::daemon::storage
