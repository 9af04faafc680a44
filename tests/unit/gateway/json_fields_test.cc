#include "gateway/json_fields.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

JsonFields MustParse(std::string_view body) {
  auto f = JsonFields::Parse(body);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(JsonFieldsTest, MatchesFieldNamesCaseInsensitively) {
  const char* bodies[] = {
      R"({"Username":"alice"})",
      R"({"username":"alice"})",
      R"({"USERNAME":"alice"})",
      R"({"uSeRnAmE":"alice"})",
  };
  for (const char* body : bodies) {
    JsonFields f = MustParse(body);
    auto v = f.String("Username");
    ASSERT_TRUE(v.ok()) << body;
    EXPECT_EQ(*v, "alice") << body;
    EXPECT_TRUE(f.Has("username"));
  }
}

TEST(JsonFieldsTest, PrefersAnExactMatchOverAFoldedOne) {
  JsonFields f = MustParse(R"({"code":"folded","Code":"exact"})");
  EXPECT_EQ(f.String("Code").value(), "exact");
  EXPECT_EQ(f.String("code").value(), "folded");
}

TEST(JsonFieldsTest, MissingFieldIsBadRequestNamingTheField) {
  JsonFields f = MustParse(R"({"Username":"alice"})");
  auto v = f.String("Password");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(), "missing field 'Password'");
}

TEST(JsonFieldsTest, WrongTypeIsBadRequestNamingTheField) {
  JsonFields f = MustParse(R"({"s":1,"i":"7","n":"x","b":"true","z":null,"f":1.5})");
  struct Case {
    Status status;
    const char* message;
  } cases[] = {
      {f.String("s").status(), "field 's' must be a string"},
      {f.String("z").status(), "field 'z' must be a string"},
      {f.Int("i").status(), "field 'i' must be an integer"},
      {f.Int("f").status(), "field 'f' must be an integer"},
      {f.Number("n").status(), "field 'n' must be a number"},
      {f.Bool("b").status(), "field 'b' must be a boolean"},
      {f.OptionalString("s").status(), "field 's' must be a string"},
      {f.OptionalInt("i").status(), "field 'i' must be an integer"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.status.code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(c.status.message(), c.message);
  }
}

TEST(JsonFieldsTest, ReadsTypedValues) {
  JsonFields f =
      MustParse(R"({"memory_mb":256,"big":9223372036854775807,"cpu":0.5,"on":true,"name":"w1"})");
  EXPECT_EQ(f.Int("MEMORY_MB").value(), 256);
  EXPECT_EQ(f.Int("big").value(), 9223372036854775807LL);
  EXPECT_DOUBLE_EQ(f.Number("cpu").value(), 0.5);
  EXPECT_DOUBLE_EQ(f.Number("memory_mb").value(), 256.0);
  EXPECT_TRUE(f.Bool("on").value());
  EXPECT_EQ(f.OptionalString("name").value(), std::optional<std::string>("w1"));
  EXPECT_EQ(f.OptionalString("absent").value(), std::nullopt);
  EXPECT_EQ(f.OptionalInt("absent").value(), std::nullopt);
  EXPECT_EQ(f.OptionalInt("memory_mb").value(), std::optional<int64_t>(256));
}

TEST(JsonFieldsTest, IntegerOutOfRangeIsRejected) {
  JsonFields f = MustParse(R"({"n":18446744073709551615})");
  EXPECT_EQ(f.Int("n").status().message(), "field 'n' must be an integer in range");
}

TEST(JsonFieldsTest, BodiesThatAreNotOneJsonObjectAreBadRequests) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {"", "request body must be a JSON object"},
      {"  \n", "request body must be a JSON object"},
      {"[1,2]", "request body must be a JSON object"},
      {"\"text\"", "request body must be a JSON object"},
      {"null", "request body must be a JSON object"},
      {"{\"a\":", "malformed JSON body (at byte 6)"},
      {"{'a':1}", "malformed JSON body (at byte 2)"},
      {"{\"a\":1} trailing", "malformed JSON body (at byte 11)"},
  };
  for (const auto& c : cases) {
    auto f = JsonFields::Parse(c.body);
    ASSERT_FALSE(f.ok()) << c.body;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_EQ(f.status().message(), c.message) << c.body;
  }
}

}  // namespace
}  // namespace nexus::gateway
