#include "common/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus {
namespace {

TEST(Sha256Test, MatchesKnownVectors) {
  struct Case {
    std::string input;
    std::string hex;
  };
  const Case cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Sha256::HexDigest(c.input), c.hex) << "input of " << c.input.size() << " bytes";
  }
}

TEST(Sha256Test, StreamingEqualsOneShotForEverySplit) {
  const std::string data = "The quick brown fox jumps over the lazy dog";
  for (size_t split = 0; split <= data.size(); ++split) {
    Sha256 h;
    h.Update(data.substr(0, split));
    h.Update(data.substr(split));
    EXPECT_EQ(ToHex(h.Finish()), Sha256::HexDigest(data)) << "split at " << split;
  }
}

TEST(Sha256Test, FinishResetsForTheNextMessage) {
  Sha256 h;
  h.Update("first message");
  (void)h.Finish();
  h.Update("abc");
  EXPECT_EQ(ToHex(h.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, RecognisesOnlyLowercaseHexOfTheRightLength) {
  struct Case {
    std::string text;
    bool valid;
  };
  const Case cases[] = {
      {std::string(64, 'a'), true},
      {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
      {std::string(63, 'a'), false},
      {std::string(65, 'a'), false},
      {std::string(64, 'A'), false},
      {"../" + std::string(61, 'a'), false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(IsSha256Hex(c.text), c.valid) << c.text;
}

}  // namespace
}  // namespace nexus
