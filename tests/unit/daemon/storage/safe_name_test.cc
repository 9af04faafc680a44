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

}  // namespace
}  // namespace nexus::daemon::storage
