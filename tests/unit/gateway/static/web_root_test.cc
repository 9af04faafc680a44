// Which folder the UI is served from: the setting, the installed share
// folder, the checkout's web/, or none.
#include "gateway/static/web_root.h"

#include <gtest/gtest.h>

#include "common/memory_env.h"

namespace nexus::gateway {
namespace {

TEST(WebRootTest, PrefersTheSettingThenTheInstallThenTheCheckout) {
  MemoryEnv env;
  const std::string exe = "/opt/nexus/sbin/nexus-api";
  const std::string source = "/src/nexus/web";
  EXPECT_EQ(ResolveWebRoot(env, "/etc/ui", exe, source), "/etc/ui");
  EXPECT_EQ(ResolveWebRoot(env, "", exe, source), "");
  ASSERT_TRUE(env.MakeDirs(source, 0755).ok());
  EXPECT_EQ(ResolveWebRoot(env, "", exe, source), source);
  ASSERT_TRUE(env.MakeDirs("/opt/nexus/share/nexus/web", 0755).ok());
  EXPECT_EQ(ResolveWebRoot(env, "", exe, source), "/opt/nexus/share/nexus/web");
  EXPECT_EQ(ResolveWebRoot(env, "", "nexus-api", source), source);
  EXPECT_EQ(ResolveWebRoot(env, "", exe, ""), "/opt/nexus/share/nexus/web");
}

TEST(WebRootTest, LoadWebUiServesTheConfiguredFolderOrNothing) {
  MemoryEnv env;
  ASSERT_TRUE(env.MakeDirs("/ui", 0755).ok());
  ASSERT_TRUE(
      env.WriteFileAtomically("/ui/index.html", "<!doctype html>", 0644, WriteMode::kReplace).ok());
  StaticAssets ui = LoadWebUi(env, "/ui", UiSettings{.mail_outbox = true});
  EXPECT_NE(ui.Find("/index.html"), nullptr);
  ASSERT_NE(ui.Find("/ui-settings.json"), nullptr);
  EXPECT_EQ(ui.Find("/ui-settings.json")->body, R"({"mail_outbox":true})");
  EXPECT_EQ(ui.Find("/ui-settings.json")->content_type, "application/json");
  EXPECT_EQ(LoadWebUi(env, "/ui", UiSettings{}).Find("/ui-settings.json")->body,
            R"({"mail_outbox":false})");
  EXPECT_TRUE(LoadWebUi(env, "/nowhere", UiSettings{}).empty());
}

}  // namespace
}  // namespace nexus::gateway
