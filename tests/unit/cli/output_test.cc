#include "cli/output.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(OutputTest, TablePadsColumnsAndRightAlignsNumbers) {
  std::string t = FormatTable({{"a", "1", "x"}, {"bbb", "100", "y"}}, {false, true, false});
  EXPECT_EQ(t, "a      1  x\nbbb  100  y\n");
}

TEST(OutputTest, CellsAndMissingFields) {
  nlohmann::json j = {{"s", "text"}, {"n", 5}, {"z", nullptr}};
  EXPECT_EQ(Cell(j["s"]), "text");
  EXPECT_EQ(Cell(j["n"]), "5");
  EXPECT_EQ(Cell(j["z"]), "-");
  EXPECT_TRUE(Field(j, "absent").is_null());
  EXPECT_TRUE(Field(nlohmann::json::array(), "s").is_null());
}

}  // namespace
}  // namespace nexus::cli
