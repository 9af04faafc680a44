#include "common/fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <utility>

namespace nexus {
namespace {

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int OpenDevNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(FdTest, ClosesOnDestruction) {
  int raw = OpenDevNull();
  { Fd fd(raw); }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(FdTest, MovesOwnership) {
  int raw = OpenDevNull();
  Fd a(raw);
  Fd b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.get(), raw);
  Fd c;
  c = std::move(b);
  EXPECT_TRUE(IsOpen(raw));
  c.reset();
  EXPECT_FALSE(IsOpen(raw));
}

TEST(FdTest, ReleaseGivesUpWithoutClosing) {
  int raw = OpenDevNull();
  {
    Fd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
}

TEST(FdTest, CloseReportsAndForgets) {
  Fd fd(OpenDevNull());
  EXPECT_EQ(fd.Close(), 0);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.Close(), 0);  // nothing held: nothing to close
}

}  // namespace
}  // namespace nexus
