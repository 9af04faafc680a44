// AuthStores: nexus-auth's two stores on one auth.db, as nexus-auth opens
// them (UserStore first: it creates and migrates the file), holding two
// accounts — "Alice" (id-alice, alice@example.com, created at 10) and "bob"
// (id-bob, bob@example.com, created at 20) — for tests of app passwords.
// Not thread-safe to set up; the stores themselves are.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/app_password_store.h"
#include "auth/user_store.h"

namespace nexus::testing {

struct AuthStores {
  std::unique_ptr<auth::UserStore> users;
  std::unique_ptr<auth::AppPasswordStore> app_passwords;

  // Call with ASSERT_NO_FATAL_FAILURE.
  void Open(const std::string& path) {
    auto u = auth::UserStore::Open(path);
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    users = std::move(u).value();
    ASSERT_TRUE(
        users->CompleteRegistration({"id-alice", "Alice", "alice@example.com", "h", 10}).ok());
    ASSERT_TRUE(users->CompleteRegistration({"id-bob", "bob", "bob@example.com", "h", 20}).ok());
    auto a = auth::AppPasswordStore::Open(path);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_passwords = std::move(a).value();
  }
};

}  // namespace nexus::testing
