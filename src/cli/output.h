// Printing answers for people and for scripts: `--json` prints the server's
// JSON as is (pretty, one document), otherwise aligned columns. Writes to
// stdout; call from the main thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nexus::cli {

void PrintJson(const nlohmann::json& value);

// An object as JSON (`json`), else its members as "key  value" lines
// (`files info`, `node info`).
void PrintObject(const nlohmann::json& object, bool json);

// Rows of cells, columns padded to their widest cell; the last column is not
// padded. `right_aligned[i]` aligns column i to the right (numbers).
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_aligned = {});

// A JSON value as a cell: strings bare, null as "-", others dumped.
std::string Cell(const nlohmann::json& value);

// The member `key` of `object`, or null when absent (answers may grow fields
// and lose none, but a CLI should not crash on an older server).
const nlohmann::json& Field(const nlohmann::json& object, const char* key);

}  // namespace nexus::cli
