#include "cli/upload_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace nexus::cli {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(UploadPlanTest, FileGoesIntoAFolderOrBecomesTheTarget) {
  testing::TempDir dir;
  Write(dir / "a.txt", "abc");
  Result<TransferPlan> into = PlanUploads({dir / "a.txt"}, "/docs", true, false);
  ASSERT_TRUE(into.ok()) << into.status().ToString();
  ASSERT_EQ(into->files.size(), 1u);
  EXPECT_EQ(into->files[0].remote, "/docs/a.txt");
  EXPECT_EQ(into->files[0].size, 3u);
  Result<TransferPlan> as = PlanUploads({dir / "a.txt"}, "docs/b.txt", false, false);
  ASSERT_TRUE(as.ok());
  EXPECT_EQ(as->files[0].remote, "/docs/b.txt");
}

TEST(UploadPlanTest, FolderNeedsRecursiveAndBringsItsWholeTree) {
  testing::TempDir dir;
  Write(dir / "src/x.txt", "1");
  Write(dir / "src/sub/y.txt", "22");
  std::filesystem::create_directories(dir / "src/empty");
  EXPECT_FALSE(PlanUploads({dir / "src"}, "/dst", true, false).ok());
  Result<TransferPlan> plan = PlanUploads({dir / "src/"}, "/dst", true, true);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->folders,
            (std::vector<std::string>{"/dst/src", "/dst/src/empty", "/dst/src/sub"}));
  ASSERT_EQ(plan->files.size(), 2u);
  EXPECT_EQ(plan->files[0].remote, "/dst/src/sub/y.txt");
  EXPECT_EQ(plan->files[1].remote, "/dst/src/x.txt");
  EXPECT_EQ(plan->total_bytes, 3u);
}

TEST(UploadPlanTest, MissingSourceIsAnErrorNamingIt) {
  testing::TempDir dir;
  Result<TransferPlan> plan = PlanUploads({dir / "nope"}, "/", true, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace nexus::cli
