#include "daemon/nodes/node_files.h"

#include <gtest/gtest.h>

#include "common/memory_env.h"

namespace nexus::daemon::runtime {
namespace {

TEST(HostMemoryBytesTest, ReadsMemTotalInKibibytes) {
  MemoryEnv files;
  files.PutFile("/proc/meminfo",
                "MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable: 2000 kB\n");
  EXPECT_EQ(HostMemoryBytes(files), 24576000LL * 1024);
}

TEST(HostMemoryBytesTest, AnythingElseIsUnknown) {
  MemoryEnv files;
  EXPECT_EQ(HostMemoryBytes(files), 0) << "no file";
  for (const char* text : {"MemFree: 1000 kB\n", "MemTotal: lots kB\n", "MemTotal: 1000 MB\n",
                           "MemTotal: 99999999999999999999 kB\n", ""}) {
    files.PutFile("/proc/meminfo", text);
    EXPECT_EQ(HostMemoryBytes(files), 0) << text;
  }
}

}  // namespace
}  // namespace nexus::daemon::runtime
