#include "gateway/formats/content_disposition.h"

#include <gtest/gtest.h>

#include "gateway/formats/utf8.h"

namespace nexus::gateway {
namespace {

TEST(ContentDispositionTest, QuotesNamesSafely) {
  struct Case {
    std::string name;
    const char* want;
  } cases[] = {
      {"report.pdf", R"(attachment; filename="report.pdf")"},
      {"my file (1).tar.gz", R"(attachment; filename="my file (1).tar.gz")"},
      {"../../etc/passwd", R"(attachment; filename=".._.._etc_passwd")"},
      {"a\\b", R"(attachment; filename="a_b")"},
      {"a\r\nb", R"(attachment; filename="a__b")"},
      {std::string("a\0b", 3), R"(attachment; filename="a_b")"},
      {"say \"hi\".txt",
       R"(attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt)"},
      {"résumé.txt", R"(attachment; filename="r_sum_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt)"},
      {"日本.txt", R"(attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt)"},
      {"bad\xff.bin", R"(attachment; filename="bad_.bin"; filename*=UTF-8''bad%EF%BF%BD.bin)"},
      {"100%;x=1", R"(attachment; filename="100%;x=1")"},
      {"", R"(attachment; filename="download")"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(AttachmentDisposition(c.name), c.want) << c.name;
  }
}

TEST(Utf8Test, ReplacesEachIllFormedSubpartAndKeepsValidText) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string in;
    std::string want;
  } cases[] = {
      {"plain ascii", "plain ascii"},
      {"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"},
      {"\xFF\xFE", r + r},
      {"a\x80z", "a" + r + "z"},
      {"\xC0\xAF", r + r},                  // overlong '/'
      {"\xE0\x80\xAF", r + r + r},          // overlong, 3 bytes
      {"\xED\xA0\x80", r + r + r},          // a surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
      {"\xE2\x82", r},                      // truncated at the end
      {"\xE2\x82z", r + "z"},               // truncated in the middle
      {"\xF0\x9F\x98", r},
      {std::string("nul\0ok", 6), std::string("nul\0ok", 6)},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ToValidUtf8(c.in), c.want);
  }
}

}  // namespace
}  // namespace nexus::gateway
