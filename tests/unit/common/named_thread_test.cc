#include "common/named_thread.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>

namespace nexus {
namespace {

std::string OwnName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

// The thread's first step already runs under its name: nothing it does can
// be seen under the parent's.
TEST(StartNamedThreadTest, TheThreadHasItsNameFromItsFirstStep) {
  std::string seen;
  std::thread t = StartNamedThread("chunk-syncer", [&seen] { seen = OwnName(); });
  t.join();
  EXPECT_EQ(seen, "chunk-syncer");
}

// The kernel keeps 15 bytes; a longer name is cut, not refused.
TEST(StartNamedThreadTest, ALongNameIsCutToWhatTheKernelKeeps) {
  std::string seen;
  std::thread t = StartNamedThread("a-name-longer-than-fifteen", [&seen] { seen = OwnName(); });
  t.join();
  EXPECT_EQ(seen, "a-name-longer-t");
}

}  // namespace
}  // namespace nexus
