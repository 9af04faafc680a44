// One contract, two implementations: every test here runs against PosixEnv
// in a fresh temp directory and against MemoryEnv, so a fake that drifts
// from the real thing fails the same test the real thing passes.
#include "common/env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/memory_env.h"
#include "support/temp_dir.h"

namespace nexus {
namespace {

// Gives each test an env and a root directory inside it.
struct PosixFixture {
  testing::TempDir dir;
  PosixEnv env;
  std::string root() const { return dir.path(); }
};

struct MemoryFixture {
  MemoryEnv env;
  MemoryFixture() { (void)env.MakeDirs("/tmp/env-test", 0700); }
  std::string root() const { return "/tmp/env-test"; }
};

template <typename Fixture>
class EnvContractTest : public ::testing::Test {
 protected:
  Env& env() { return f_.env; }
  std::string Path(const std::string& name) const { return f_.root() + "/" + name; }

  Fixture f_;
};

using Implementations = ::testing::Types<PosixFixture, MemoryFixture>;
TYPED_TEST_SUITE(EnvContractTest, Implementations);

TYPED_TEST(EnvContractTest, ReadsBackWhatWasWrittenAtomically) {
  const std::string path = this->Path("key");
  ASSERT_TRUE(this->env().WriteFileAtomically(path, "hello", 0600, WriteMode::kNoReplace).ok());
  auto got = this->env().ReadFile(path, 100);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "hello");
  auto info = this->env().Stat(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->type, FileType::kRegular);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->mode, 0600u);
}

TYPED_TEST(EnvContractTest, NoReplaceKeepsTheFirstFile) {
  const std::string path = this->Path("key");
  ASSERT_TRUE(this->env().WriteFileAtomically(path, "first", 0600, WriteMode::kNoReplace).ok());
  Status s = this->env().WriteFileAtomically(path, "second", 0600, WriteMode::kNoReplace);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*this->env().ReadFile(path, 100), "first");
}

TYPED_TEST(EnvContractTest, ReplaceOverwritesAndLeavesNoTempFileBehind) {
  const std::string path = this->Path("key");
  ASSERT_TRUE(this->env().WriteFileAtomically(path, "first", 0600, WriteMode::kReplace).ok());
  ASSERT_TRUE(this->env().WriteFileAtomically(path, "second", 0644, WriteMode::kReplace).ok());
  EXPECT_EQ(*this->env().ReadFile(path, 100), "second");
  EXPECT_EQ(*this->env().ListDir(this->Path("")), std::vector<std::string>{"key"});
}

TYPED_TEST(EnvContractTest, WritingIntoAMissingDirectoryIsNotFound) {
  Status s =
      this->env().WriteFileAtomically(this->Path("no/such/f"), "x", 0600, WriteMode::kReplace);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(this->env().WriteNewFile(this->Path("no/f"), "x", 0600).code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, ReadNamesTheMissingPath) {
  auto got = this->env().ReadFile(this->Path("missing"), 100);
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find(this->Path("missing")), std::string::npos);
  EXPECT_NE(got.status().message().find("No such file or directory"), std::string::npos);
}

TYPED_TEST(EnvContractTest, RefusesFilesLargerThanTheLimit) {
  const std::string path = this->Path("big");
  ASSERT_TRUE(this->env().WriteNewFile(path, std::string(101, 'x'), 0600).ok());
  EXPECT_EQ(this->env().ReadFile(path, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(this->env().ReadFile(path, 101).ok());
}

TYPED_TEST(EnvContractTest, WriteNewFileTakesTheExactModeAndRefusesToOverwrite) {
  const std::string path = this->Path("etc-hosts");
  ASSERT_TRUE(this->env().WriteNewFile(path, "127.0.0.1\n", 0444).ok());
  EXPECT_EQ(this->env().Stat(path)->mode, 0444u);
  EXPECT_EQ(this->env().WriteNewFile(path, "x", 0444).code(), StatusCode::kAlreadyExists);
}

// What root hands to the sandbox user; anyone may "give" a file to themself.
FileOwner SomeoneToGiveTo() {
  return ::geteuid() == 0 ? FileOwner{65534, 65534} : FileOwner{::geteuid(), ::getegid()};
}

TYPED_TEST(EnvContractTest, WhatTheProcessCreatesIsItsOwn) {
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("f"), "x", 0600).ok());
  ASSERT_TRUE(this->env().MakeDir(this->Path("d"), 0700).ok());
  for (const char* name : {"f", "d"}) {
    auto info = this->env().Stat(this->Path(name));
    ASSERT_TRUE(info.ok()) << name;
    EXPECT_EQ(info->uid, ::geteuid()) << name;
    EXPECT_EQ(info->gid, ::getegid()) << name;
  }
}

TYPED_TEST(EnvContractTest, WriteNewFileAsHandsTheFileToItsOwner) {
  const FileOwner owner = SomeoneToGiveTo();
  const std::string path = this->Path("main.py");
  ASSERT_TRUE(this->env().WriteNewFileAs(path, "secret = 42", 0400, owner).ok());
  auto info = this->env().Stat(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->uid, owner.uid);
  EXPECT_EQ(info->gid, owner.gid);
  EXPECT_EQ(info->mode, 0400u);
  EXPECT_EQ(*this->env().ReadFile(path, 100), "secret = 42");
  EXPECT_EQ(this->env().WriteNewFileAs(path, "x", 0400, owner).code(), StatusCode::kAlreadyExists);
}

TYPED_TEST(EnvContractTest, ChownSetsTheOwnerOfThePathItselfNotOfALinksTarget) {
  const FileOwner owner = SomeoneToGiveTo();
  ASSERT_TRUE(this->env().MakeDir(this->Path("d"), 0700).ok());
  ASSERT_TRUE(this->env().Chown(this->Path("d"), owner).ok());
  EXPECT_EQ(this->env().Stat(this->Path("d"))->uid, owner.uid);
  EXPECT_EQ(this->env().Stat(this->Path("d"))->gid, owner.gid);

  ASSERT_TRUE(this->env().WriteNewFile(this->Path("target"), "", 0600).ok());
  ASSERT_TRUE(this->env().Symlink("target", this->Path("link")).ok());
  ASSERT_TRUE(this->env().Chown(this->Path("link"), owner).ok());
  EXPECT_EQ(this->env().LinkStat(this->Path("link"))->uid, owner.uid);
  EXPECT_EQ(this->env().Stat(this->Path("target"))->uid, ::geteuid());
  EXPECT_EQ(this->env().Chown(this->Path("none"), owner).code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, TheCurrentDirectoryIsAnAbsoluteDirectory) {
  auto dir = this->env().CurrentDir();
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  ASSERT_FALSE(dir->empty());
  EXPECT_EQ((*dir)[0], '/');
  EXPECT_TRUE(this->env().IsDir(*dir));
}

TYPED_TEST(EnvContractTest, MakeDirTakesTheExactModeAndRefusesAnExistingOne) {
  const std::string dir = this->Path("bundle");
  ASSERT_TRUE(this->env().MakeDir(dir, 0755).ok());
  EXPECT_TRUE(this->env().IsDir(dir));
  EXPECT_EQ(this->env().Stat(dir)->mode, 0755u);
  EXPECT_EQ(this->env().MakeDir(dir, 0755).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(this->env().MakeDir(this->Path("a/b"), 0755).code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, MakeDirsCreatesParentsAndKeepsExistingOnes) {
  ASSERT_TRUE(this->env().MakeDir(this->Path("a"), 0755).ok());
  ASSERT_TRUE(this->env().MakeDirs(this->Path("a/b/c"), 0700).ok());
  EXPECT_TRUE(this->env().IsDir(this->Path("a/b/c")));
  EXPECT_EQ(this->env().Stat(this->Path("a"))->mode, 0755u);
  EXPECT_EQ(this->env().Stat(this->Path("a/b"))->mode & 0077, 0u);
  EXPECT_TRUE(this->env().MakeDirs(this->Path("a/b/c"), 0700).ok());
}

TYPED_TEST(EnvContractTest, ChmodSetsThePermissionBits) {
  ASSERT_TRUE(this->env().MakeDir(this->Path("d"), 0755).ok());
  ASSERT_TRUE(this->env().Chmod(this->Path("d"), 0700).ok());
  EXPECT_EQ(this->env().Stat(this->Path("d"))->mode, 0700u);
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("f"), "", 0600).ok());
  ASSERT_TRUE(this->env().Chmod(this->Path("f"), 01644).ok());
  EXPECT_EQ(this->env().Stat(this->Path("f"))->mode, 01644u);
  EXPECT_EQ(this->env().Chmod(this->Path("none"), 0600).code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, MakeDirsFailsOnAFileInTheWay) {
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("file"), "x", 0600).ok());
  Status s = this->env().MakeDirs(this->Path("file/sub"), 0700);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Not a directory"), std::string::npos) << s.ToString();
}

TYPED_TEST(EnvContractTest, ListDirGivesSortedNamesOfOneLevel) {
  ASSERT_TRUE(this->env().MakeDirs(this->Path("d/sub"), 0700).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("d/b"), "", 0600).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("d/a"), "", 0600).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("d/sub/deep"), "", 0600).ok());
  EXPECT_EQ(*this->env().ListDir(this->Path("d")), (std::vector<std::string>{"a", "b", "sub"}));
  EXPECT_EQ(this->env().ListDir(this->Path("none")).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, RemoveTakesFilesAndEmptyDirectoriesOnly) {
  ASSERT_TRUE(this->env().MakeDirs(this->Path("d/e"), 0700).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("f"), "", 0600).ok());
  EXPECT_TRUE(this->env().Remove(this->Path("f")).ok());
  EXPECT_FALSE(this->env().Exists(this->Path("f")));
  EXPECT_EQ(this->env().Remove(this->Path("f")).code(), StatusCode::kNotFound);
  EXPECT_FALSE(this->env().Remove(this->Path("d")).ok());
  EXPECT_TRUE(this->env().Remove(this->Path("d/e")).ok());
  EXPECT_TRUE(this->env().Remove(this->Path("d")).ok());
}

TYPED_TEST(EnvContractTest, RemoveTreeTakesEverythingBelowAndToleratesAbsence) {
  ASSERT_TRUE(this->env().MakeDirs(this->Path("t/a/b"), 0700).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("t/a/b/f"), "x", 0600).ok());
  ASSERT_TRUE(this->env().Symlink("/", this->Path("t/root-link")).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("t-sibling"), "x", 0600).ok());
  EXPECT_TRUE(this->env().RemoveTree(this->Path("t")).ok());
  EXPECT_FALSE(this->env().Exists(this->Path("t")));
  EXPECT_TRUE(this->env().Exists(this->Path("t-sibling")));
  EXPECT_TRUE(this->env().IsDir("/"));  // the link was removed, not followed
  EXPECT_TRUE(this->env().RemoveTree(this->Path("t")).ok());
}

TYPED_TEST(EnvContractTest, RenameMovesAFileOrAWholeDirectory) {
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("a"), "x", 0600).ok());
  ASSERT_TRUE(this->env().Rename(this->Path("a"), this->Path("b")).ok());
  EXPECT_FALSE(this->env().Exists(this->Path("a")));
  EXPECT_EQ(*this->env().ReadFile(this->Path("b"), 10), "x");

  ASSERT_TRUE(this->env().MakeDirs(this->Path("d1/sub"), 0700).ok());
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("d1/sub/f"), "y", 0600).ok());
  ASSERT_TRUE(this->env().Rename(this->Path("d1"), this->Path("d2")).ok());
  EXPECT_EQ(*this->env().ReadFile(this->Path("d2/sub/f"), 10), "y");
  EXPECT_FALSE(this->env().Exists(this->Path("d1/sub/f")));
  EXPECT_EQ(this->env().Rename(this->Path("d1"), this->Path("d3")).code(), StatusCode::kNotFound);
}

TYPED_TEST(EnvContractTest, SymlinksAreFollowedByStatAndReadButNotByLinkStat) {
  ASSERT_TRUE(this->env().WriteNewFile(this->Path("target"), "data", 0640).ok());
  ASSERT_TRUE(this->env().Symlink("target", this->Path("link")).ok());
  EXPECT_EQ(*this->env().ReadLink(this->Path("link")), "target");
  EXPECT_EQ(*this->env().ReadFile(this->Path("link"), 10), "data");
  EXPECT_EQ(this->env().Stat(this->Path("link"))->type, FileType::kRegular);
  EXPECT_EQ(this->env().LinkStat(this->Path("link"))->type, FileType::kSymlink);
  EXPECT_EQ(this->env().Symlink("x", this->Path("link")).code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(this->env().ReadLink(this->Path("target")).ok());

  ASSERT_TRUE(this->env().Symlink("nowhere", this->Path("dangling")).ok());
  EXPECT_FALSE(this->env().Exists(this->Path("dangling")));
  EXPECT_TRUE(this->env().LinkStat(this->Path("dangling")).ok());
}

TYPED_TEST(EnvContractTest, SyncDirNeedsADirectory) {
  EXPECT_TRUE(this->env().SyncDir(this->Path("")).ok());
  EXPECT_EQ(this->env().SyncDir(this->Path("none")).code(), StatusCode::kNotFound);
}

TEST(MemoryEnvTest, SleepsOnlyAddUp) {
  MemoryEnv env;
  env.SleepFor(std::chrono::milliseconds(5000));
  env.SleepFor(std::chrono::milliseconds(7));
  EXPECT_EQ(env.slept(), std::chrono::milliseconds(5007));
}

TEST(MemoryEnvTest, PutFileCreatesItsParents) {
  MemoryEnv env;
  env.PutFile("/proc/self/mountinfo", "text");
  EXPECT_TRUE(env.IsDir("/proc/self"));
  EXPECT_EQ(*env.ReadFile("/proc/self/mountinfo", 100), "text");
  EXPECT_EQ(env.Paths(), (std::vector<std::string>{"/proc", "/proc/self", "/proc/self/mountinfo"}));
}

TEST(AbsolutePathTest, StartsRelativePathsAtTheCurrentDirectoryAndFoldsTheSpelling) {
  MemoryEnv env;
  env.SetCurrentDir("/srv/nexus");
  struct Case {
    const char* path;
    const char* absolute;
  } cases[] = {
      {"run/here/", "/srv/nexus/run/here"},
      {"bin/../tools/nexus-lambda-init", "/srv/nexus/tools/nexus-lambda-init"},
      {"./a//b/./c", "/srv/nexus/a/b/c"},
      {"", "/srv/nexus"},
      {"../../../..", "/"},
      {"/run/nexus-abc", "/run/nexus-abc"},
      {"/run/../x/", "/x"},
      {"/", "/"},
      {"//a", "/a"},
  };
  for (const auto& tc : cases) {
    auto got = AbsolutePath(env, tc.path);
    ASSERT_TRUE(got.ok()) << tc.path;
    EXPECT_EQ(*got, tc.absolute) << "'" << tc.path << "'";
  }
}

TEST(AbsolutePathTest, OnTheRealFileSystemStartsAtTheWorkingDirectory) {
  PosixEnv env;
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(*AbsolutePath(env, "x"), std::string(cwd) == "/" ? "/x" : std::string(cwd) + "/x");
}

// sysfs gives every attribute a page as its size, whatever it holds: the
// bound is on what is read. (/sys/class/net/lo exists in every network
// namespace.)
TEST(PosixEnvTest, BoundsWhatAPseudoFileHoldsNotTheSizeItClaims) {
  PosixEnv env;
  auto ifindex = env.ReadFile("/sys/class/net/lo/ifindex", 64);
  ASSERT_TRUE(ifindex.ok()) << ifindex.status().ToString();
  EXPECT_EQ(*ifindex, "1\n");
}

TEST(DirNameTest, KeepsTheDirectoryPart) {
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
}

}  // namespace
}  // namespace nexus
