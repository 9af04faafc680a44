// JsonFields: typed access to the fields of a JSON request body.
//
// Field names match case-insensitively, as the original server did
// ("Username" and "username" both work); an exact match wins over a
// case-insensitive one. Every failure is a 400 (kInvalidArgument) naming the
// field, so handlers can return it as is. nlohmann exceptions stay inside.
// Immutable after Parse; thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::gateway {

class JsonFields {
 public:
  // The body must be one JSON object.
  static Result<JsonFields> Parse(std::string_view body);

  JsonFields(JsonFields&&) noexcept;
  JsonFields& operator=(JsonFields&&) noexcept;
  ~JsonFields();

  bool Has(std::string_view name) const;

  // Required fields: absent → "missing field 'Name'"; wrong type (null
  // included) → "field 'Name' must be a <type>".
  Result<std::string> String(std::string_view name) const;
  Result<int64_t> Int(std::string_view name) const;
  Result<double> Number(std::string_view name) const;
  Result<bool> Bool(std::string_view name) const;

  // Optional fields: absent or null → nullopt; wrong type → 400.
  Result<std::optional<std::string>> OptionalString(std::string_view name) const;
  Result<std::optional<int64_t>> OptionalInt(std::string_view name) const;

 private:
  explicit JsonFields(std::unique_ptr<nlohmann::json> object);
  const nlohmann::json* Find(std::string_view name) const;

  std::unique_ptr<nlohmann::json> object_;
};

}  // namespace nexus::gateway
