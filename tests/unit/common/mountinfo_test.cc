#include "common/mountinfo.h"

#include <gtest/gtest.h>

namespace nexus {
namespace {

TEST(UnescapeMountinfoFieldTest, DecodesOctalEscapesOnly) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"/plain", "/plain"},
      {"/with\\040space", "/with space"},
      {"/tab\\011and\\012newline", "/tab\tand\nnewline"},
      {"/back\\134slash", "/back\\slash"},
      {"/end\\040", "/end "},
      {"/short\\04", "/short\\04"},
      {"/not\\089octal", "/not\\089octal"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(UnescapeMountinfoField(c.in), c.out) << c.in;
}

TEST(ParseMountinfoTest, ReadsTheFieldsAroundTheSeparator) {
  const std::string text =
      "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "35 22 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
      "91 22 7:1 /sub /data/with\\040space rw - ext4 /dev/loop1 rw,errors=remount-ro\n"
      "broken line\n"
      "92 22 7:2 / /no-separator rw ext4\n";
  auto entries = ParseMountinfo(text);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].mount_point, "/");
  EXPECT_EQ(entries[0].fstype, "ext4");
  EXPECT_EQ(entries[1].fstype, "cgroup");
  EXPECT_EQ(entries[1].super_options, "rw,memory");
  EXPECT_EQ(entries[2].root, "/sub");
  EXPECT_EQ(entries[2].mount_point, "/data/with space");
  EXPECT_EQ(entries[2].source, "/dev/loop1");
}

}  // namespace
}  // namespace nexus
