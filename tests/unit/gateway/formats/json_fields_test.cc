#include "gateway/formats/json_fields.h"

#include <gtest/gtest.h>

#include <limits>

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

// nlohmann reads a JSON number as uint64, int64 or double depending on its
// text; only what an int64 holds is an integer here, whichever way it came.
TEST(JsonFieldsTest, IntegersAreExactlyThoseInt64Holds) {
  struct Case {
    const char* number;
    int64_t value;
  } cases[] = {
      {"0", 0},
      {"-0", 0},
      {"1", 1},
      {"-1", -1},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"9223372036854775806", std::numeric_limits<int64_t>::max() - 1},
  };
  for (const auto& c : cases) {
    JsonFields f = MustParse(std::string(R"({"n":)") + c.number + "}");
    auto v = f.Int("n");
    ASSERT_TRUE(v.ok()) << c.number << ": " << v.status().ToString();
    EXPECT_EQ(*v, c.value) << c.number;
    EXPECT_EQ(f.OptionalInt("n").value(), std::optional<int64_t>(c.value)) << c.number;
  }
}

TEST(JsonFieldsTest, NumbersBeyondInt64AreOutOfRangeAndOthersAreNotIntegers) {
  constexpr const char* kOutOfRange =
      "field 'n' is out of range (integers from -9223372036854775808 to 9223372036854775807)";
  constexpr const char* kNotAnInteger = "field 'n' must be an integer";
  struct Case {
    const char* number;
    const char* message;
  } cases[] = {
      {"9223372036854775808", kOutOfRange},   // INT64_MAX + 1: a uint64
      {"18446744073709551615", kOutOfRange},  // UINT64_MAX
      {"18446744073709551616", kOutOfRange},  // UINT64_MAX + 1: a double
      {"18446744073709551680", kOutOfRange},
      {"99999999999999999999999999999999", kOutOfRange},
      {"-9223372036854775809", kOutOfRange},  // INT64_MIN - 1: a double
      {"-99999999999999999999999999999999", kOutOfRange},
      {"1e30", kOutOfRange},
      {"-1e30", kOutOfRange},
      {"1E19", kOutOfRange},
      {"9.3e18", kOutOfRange},
      {"1.5", kNotAnInteger},
      {"-0.5", kNotAnInteger},
      {"256.0", kNotAnInteger},  // a whole double is still not an integer
      {"1e3", kNotAnInteger},
      {"0.0", kNotAnInteger},
      {"\"256\"", kNotAnInteger},
      {"true", kNotAnInteger},
      {"[1]", kNotAnInteger},
      {"{}", kNotAnInteger},
  };
  for (const auto& c : cases) {
    JsonFields f = MustParse(std::string(R"({"n":)") + c.number + "}");
    for (Status s : {f.Int("n").status(), f.OptionalInt("n").status()}) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.number;
      EXPECT_EQ(s.message(), c.message) << c.number;
    }
  }
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
      {"{\"a\":1e400}", "a number in the JSON body is out of range"},
      {"{\"a\":[-1e309]}", "a number in the JSON body is out of range"},
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
