#include "daemon/storage/safe_name.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus::daemon::storage {
namespace {

TEST(SafeBaseNameTest, ReducesClientNamesToSafeBaseNames) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"report.pdf", "report.pdf"},
      {"/etc/passwd", "passwd"},
      {"../../secret.txt", "secret.txt"},
      {"C:\\Users\\alice\\photo.jpg", "photo.jpg"},
      {"dir/", "file"},
      {"", "file"},
      {".", "_"},
      {"..", "__"},
      {"a/..", "__"},
      {"evil\r\nSet-Cookie: x", "evilSet-Cookie: x"},
      {std::string("nul\0byte", 8), "nulbyte"},
      {"tab\there\x7f", "tabhere"},
      {"caf\xc3\xa9.txt", "caf\xc3\xa9.txt"},        // valid UTF-8 kept
      {"\xe2\x82\xac rates", "\xe2\x82\xac rates"},  // euro sign
      {"bad\xff\xfe.bin", "bad__.bin"},              // invalid bytes replaced
      {"c1\xc2\x85"
       "control",
       "c1control"},                       // U+0085 (NEL) dropped
      {"over\xc0\xaflong", "over__long"},  // overlong '/' is not a slash
      {"\x01\x02", "file"},
  };
  for (const auto& c : cases) EXPECT_EQ(SafeBaseName(c.in), c.out) << c.in;
}

TEST(SafeBaseNameTest, BoundsLengthWithoutSplittingACharacter) {
  std::string ascii(300, 'a');
  EXPECT_EQ(SafeBaseName(ascii), std::string(255, 'a'));

  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";  // 3 bytes each
  const std::string out = SafeBaseName(euros);
  EXPECT_EQ(out.size(), 255u);  // 85 whole characters
  EXPECT_EQ(out, euros.substr(0, 255));

  std::string shifted = "x" + euros;  // 1 + 3k: the 255-byte cut would split one
  const std::string out2 = SafeBaseName(shifted);
  EXPECT_EQ(out2.size(), 253u);
  EXPECT_EQ(out2, shifted.substr(0, 253));
}

TEST(BidiControlTest, FindsEveryEmbeddingOverrideAndIsolateAndNothingElse) {
  struct Case {
    std::string text;
    bool bidi;
  };
  const Case cases[] = {
      {"plain.txt", false},
      {"invoice\xe2\x80\xae"
       "fdp.exe",
       true},                  // U+202E RIGHT-TO-LEFT OVERRIDE
      {"\xe2\x80\xaa", true},  // U+202A LRE
      {"\xe2\x80\xab", true},  // U+202B RLE
      {"\xe2\x80\xac", true},  // U+202C PDF
      {"\xe2\x80\xad", true},  // U+202D LRO
      {"a/\xe2\x81\xa6"
       "b",
       true},                                       // U+2066 LRI
      {"\xe2\x81\xa7", true},                       // U+2067 RLI
      {"\xe2\x81\xa8", true},                       // U+2068 FSI
      {"x\xe2\x81\xa9", true},                      // U+2069 PDI at the end
      {"\xe2\x80\xa9", false},                      // U+2029 paragraph separator
      {"\xe2\x80\xaf", false},                      // U+202F narrow no-break space
      {"\xe2\x81\xa5", false},                      // U+2065 (unassigned)
      {"\xe2\x81\xaa", false},                      // U+206A (deprecated, not listed)
      {"\xe2\x80\x8f", false},                      // U+200F RLM: a mark, not an override
      {"\xe2\x82\xac rates", false},                // euro sign
      {"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", false},  // Hebrew letters are fine
      {"cut\xe2\x80", false},                       // truncated sequence
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HasBidiControl(c.text), c.bidi) << c.text;
    EXPECT_EQ(RefuseBidiControls("name", c.text).code(),
              c.bidi ? StatusCode::kInvalidArgument : StatusCode::kOk)
        << c.text;
  }
}

}  // namespace
}  // namespace nexus::daemon::storage
