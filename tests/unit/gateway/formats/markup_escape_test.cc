#include "gateway/formats/markup_escape.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

TEST(MarkupEscapeTest, ReplacesEveryMarkupCharacterAndKeepsTheRest) {
  EXPECT_EQ(EscapeMarkup(R"(<a href="x">&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("plain caf\xC3\xA9"), "plain caf\xC3\xA9");
  EXPECT_EQ(EscapeMarkup(""), "");
}

}  // namespace
}  // namespace nexus::gateway
