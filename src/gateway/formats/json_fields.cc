#include "gateway/formats/json_fields.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "gateway/http/http_types.h"

namespace nexus::gateway {
namespace {

Status Missing(std::string_view name) {
  return InvalidArgumentError("missing field '" + std::string(name) + "'");
}

Status WrongType(std::string_view name, std::string_view type) {
  return InvalidArgumentError("field '" + std::string(name) + "' must be " + std::string(type));
}

Status OutOfRange(std::string_view name) {
  return InvalidArgumentError("field '" + std::string(name) +
                              "' is out of range (integers from -9223372036854775808 to "
                              "9223372036854775807)");
}

// nlohmann keeps a JSON integer as uint64 when it is non-negative, as int64
// when negative, and as a double when it fits neither (beyond UINT64_MAX or
// below INT64_MIN) or is written with a fraction or an exponent. Only the
// first two can be an int64; a whole-valued double is out of range or was
// written as 1e3 or 256.0, which is not an integer either (as encoding/json
// of the original server held).
Result<int64_t> AsInt(const nlohmann::json& v, std::string_view name) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return OutOfRange(name);
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    // Beyond int64 (1e30, 18446744073709551616): too large before it is not
    // an integer.
    const double d = v.get<double>();
    // -9223372036854775809 reads as -2^63 exactly, so that bound is out too.
    if (!(d > -0x1p63 && d < 0x1p63)) return OutOfRange(name);
  }
  return WrongType(name, "an integer");
}

}  // namespace

JsonFields::JsonFields(std::unique_ptr<nlohmann::json> object) : object_(std::move(object)) {}
JsonFields::JsonFields(JsonFields&&) noexcept = default;
JsonFields& JsonFields::operator=(JsonFields&&) noexcept = default;
JsonFields::~JsonFields() = default;

Result<JsonFields> JsonFields::Parse(std::string_view body) {
  auto j = std::make_unique<nlohmann::json>();
  try {
    *j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return InvalidArgumentError("request body must be a JSON object");
    }
    return InvalidArgumentError("malformed JSON body (at byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::out_of_range&) {
    // A number no double holds (1e400): nlohmann throws this, not a
    // parse_error, and it must not escape as a 500.
    return InvalidArgumentError("a number in the JSON body is out of range");
  }
  if (!j->is_object()) return InvalidArgumentError("request body must be a JSON object");
  return JsonFields(std::move(j));
}

const nlohmann::json* JsonFields::Find(std::string_view name) const {
  const nlohmann::json* folded = nullptr;
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    const std::string& key = it.key();
    if (key == name) return &it.value();
    if (!folded && EqualsIgnoreCase(key, name)) folded = &it.value();
  }
  return folded;
}

bool JsonFields::Has(std::string_view name) const { return Find(name) != nullptr; }

Result<std::string> JsonFields::String(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v) return Missing(name);
  if (!v->is_string()) return WrongType(name, "a string");
  return v->get<std::string>();
}

Result<int64_t> JsonFields::Int(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v) return Missing(name);
  return AsInt(*v, name);
}

Result<double> JsonFields::Number(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v) return Missing(name);
  if (!v->is_number()) return WrongType(name, "a number");
  return v->get<double>();
}

Result<bool> JsonFields::Bool(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v) return Missing(name);
  if (!v->is_boolean()) return WrongType(name, "a boolean");
  return v->get<bool>();
}

Result<std::optional<std::string>> JsonFields::OptionalString(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(name, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<int64_t>> JsonFields::OptionalInt(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (!v || v->is_null()) return std::optional<int64_t>();
  auto i = AsInt(*v, name);
  if (!i.ok()) return i.status();
  return std::optional<int64_t>(*i);
}

}  // namespace nexus::gateway
