#include "cli/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace nexus::cli {
namespace {

TEST(ProgressTest, LineShowsPercentBytesRateAndEta) {
  std::string line = RenderBarLine({"file.bin", 50ull << 20, 100ull << 20, 10.0, 100, false});
  EXPECT_NE(line.find("file.bin"), std::string::npos) << line;
  EXPECT_NE(line.find("50%"), std::string::npos) << line;
  EXPECT_NE(line.find("50 MiB/100 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("5.0 MiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:10"), std::string::npos) << line;
  EXPECT_NE(line.find("[###"), std::string::npos) << line;
  EXPECT_EQ(line.find("\x1b["), std::string::npos) << "no colour when not asked";
}

TEST(ProgressTest, LongLabelsKeepTheirEnd) {
  std::string line =
      RenderBarLine({"a/very/long/folder/name/that/goes/on/file.bin", 0, 10, 0, 100, false});
  EXPECT_EQ(line.rfind("...", 0), 0u) << line;
  EXPECT_NE(line.find("file.bin"), std::string::npos) << line;
}

TEST(ProgressTest, UnknownTotalShowsBytesOnly) {
  std::string line = RenderBarLine({"x", 2048, 0, 1.0, 100, false});
  EXPECT_NE(line.find("2.0 KiB"), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
}

TEST(ProgressTest, ColourOnlyWhenAsked) {
  EXPECT_NE(RenderBarLine({"x", 5, 10, 1.0, 100, true}).find("\x1b[32m"), std::string::npos);
}

TEST(ProgressTest, DisabledBoardWritesNothing) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buf, &size);
  {
    ProgressBoard board(out, /*enabled=*/false, false, 100, 2);
    auto slot = board.Begin("a", 50);
    slot->OnProgress(50, 50);
    board.Message("warning");
    slot.reset();
    board.Finish();
  }
  std::fclose(out);
  EXPECT_EQ(std::string(buf, size), "warning\n");
  std::free(buf);
}

TEST(ProgressTest, EnabledBoardDrawsEachTransferAndATotal) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buf, &size);
  {
    ProgressBoard board(out, /*enabled=*/true, false, 100, 2);
    auto a = board.Begin("first", 50);
    auto b = board.Begin("second", 50);
    a->OnProgress(50, 50);
    board.Message("note");  // forces a redraw with both lines
    a.reset();
    b.reset();
    board.Finish();
  }
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  EXPECT_NE(text.find("first"), std::string::npos);
  EXPECT_NE(text.find("second"), std::string::npos);
  EXPECT_NE(text.find("total 2/2 files"), std::string::npos) << text;
}

}  // namespace
}  // namespace nexus::cli
