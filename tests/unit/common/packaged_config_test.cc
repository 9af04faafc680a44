// packaging/nexus.toml, the config `make install` puts in /etc/nexus, shows
// every setting commented out with its default. These tests hold it to the
// defaults embedded in config.h, so neither can change without the other.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "common/config.h"

namespace nexus {
namespace {

struct PackagedConfig {
  std::string text;
  std::map<std::string, std::string> commented;  // "# key = value": the defaults shown
  std::map<std::string, std::string> set;        // "key = value": the installation's choices
};

PackagedConfig ReadPackagedConfig() {
  PackagedConfig out;
  std::ifstream in(NEXUS_PACKAGED_CONFIG);
  EXPECT_TRUE(in) << "cannot read " << NEXUS_PACKAGED_CONFIG;
  std::stringstream all;
  all << in.rdbuf();
  out.text = all.str();
  const std::regex section(R"(^\[([a-z0-9_]+)\]$)");
  const std::regex setting(R"(^(# )?([a-z][a-z0-9_]*) = (.*)$)");
  std::string prefix;
  std::istringstream lines(out.text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, section)) {
      prefix = m[1].str() + ".";
    } else if (std::regex_match(line, m, setting)) {
      auto& into = m[1].matched ? out.commented : out.set;
      EXPECT_TRUE(into.emplace(prefix + m[2].str(), m[3].str()).second)
          << "twice: " << prefix + m[2].str();
    }
  }
  return out;
}

TEST(PackagedConfigTest, ShowsEverySettingWithItsEmbeddedDefault) {
  const PackagedConfig file = ReadPackagedConfig();
  std::set<std::string> known;
  for (const ConfigSetting& s : ListSettings(Config{})) {
    known.insert(s.key);
    auto it = file.commented.find(s.key);
    if (it == file.commented.end()) {
      ADD_FAILURE() << "packaging/nexus.toml lacks the line: # " << s.key << " = " << s.toml_value;
      continue;
    }
    EXPECT_EQ(it->second, s.toml_value) << "default of " << s.key;
  }
  for (const auto& [key, value] : file.commented) {
    EXPECT_TRUE(known.count(key)) << "packaging/nexus.toml shows an unknown setting " << key;
  }
}

TEST(PackagedConfigTest, SetsOnlyTheInstallationsDirectoriesAndSockets) {
  const PackagedConfig file = ReadPackagedConfig();
  const std::set<std::string> allowed = {"data_dir", "auth.listen", "daemon.listen"};
  for (const auto& [key, value] : file.set) {
    EXPECT_TRUE(allowed.count(key)) << key << " is set, not shown commented out";
  }
}

TEST(PackagedConfigTest, ParsesAsIsAndWithEveryDefaultUncommented) {
  const PackagedConfig file = ReadPackagedConfig();
  auto no_env = [](const char*) -> const char* { return nullptr; };
  auto as_is = ParseConfig(file.text, no_env);
  ASSERT_TRUE(as_is.ok()) << as_is.status().ToString();
  EXPECT_EQ(as_is->data_dir, "/var/lib/nexus");

  // The commented defaults alone, uncommented, make the built-in config.
  std::string defaults;
  std::istringstream lines(file.text);
  const std::regex setting(R"(^# ([a-z][a-z0-9_]* = .*)$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.starts_with("[")) {
      defaults += line + "\n";
    } else if (std::regex_match(line, m, setting)) {
      defaults += m[1].str() + "\n";
    }
  }
  auto uncommented = ParseConfig(defaults, no_env);
  ASSERT_TRUE(uncommented.ok()) << uncommented.status().ToString();
  auto builtin = ParseConfig("", no_env);
  ASSERT_TRUE(builtin.ok());
  auto a = ListSettings(*uncommented);
  auto b = ListSettings(*builtin);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].toml_value, b[i].toml_value) << a[i].key;
  }
}

}  // namespace
}  // namespace nexus
