// libFuzzer target for the streaming multipart parser (src/gateway/multipart.h).
//
// Input layout: byte 0 chooses how the body is sliced, byte 1 holds mode
// bits, the rest is the body (or, with kContentTypeInInput, a Content-Type
// line and then the body). Besides the sanitizers, the oracle is
// differential: feeding the body whole and feeding it in slices must give
// the same parts, the same bytes and the same outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/formats/multipart.h"

namespace {

using nexus::gateway::MultipartEventType;
using nexus::gateway::MultipartLimits;
using nexus::gateway::MultipartParser;

constexpr uint8_t kSmallLimits = 1;         // reach the limit checks cheaply
constexpr uint8_t kContentTypeInInput = 2;  // fuzz the Content-Type too
constexpr uint8_t kManySlices = 4;          // many small slices, not two

struct Transcript {
  std::string events;  // one letter per event plus part metadata and bytes
  bool ok = true;
  std::string error;

  bool operator==(const Transcript&) const = default;
};

Transcript Run(std::string_view content_type, const MultipartLimits& limits,
               const std::vector<std::string_view>& slices) {
  Transcript t;
  auto parser = MultipartParser::Create(content_type, limits);
  if (!parser.ok()) {
    t.ok = false;
    t.error = parser.status().ToString();
    return t;
  }
  size_t next = 0;
  std::string pending_data;  // data events merged: slicing may split them differently
  bool in_part = false;
  while (true) {
    auto ev = parser->Next();
    if (!ev.ok()) {
      t.ok = false;
      t.error = ev.status().ToString();
      t.events += pending_data;
      return t;
    }
    switch (ev->type) {
      case MultipartEventType::kNeedMore:
        if (next < slices.size()) {
          parser->Feed(slices[next++]);
        } else {
          parser->FinishInput();
        }
        break;
      case MultipartEventType::kPartBegin:
        if (in_part) std::abort();  // begin without end
        in_part = true;
        t.events += "B[" + ev->part->name + "|" + ev->part->filename.value_or("<none>") + "|" +
                    ev->part->content_type + "]";
        break;
      case MultipartEventType::kPartData:
        if (!in_part || ev->data.empty()) std::abort();
        pending_data.append(ev->data);
        break;
      case MultipartEventType::kPartEnd:
        if (!in_part) std::abort();
        in_part = false;
        t.events += "D[" + pending_data + "]E";
        pending_data.clear();
        break;
      case MultipartEventType::kDone:
        if (in_part) std::abort();  // done inside a part
        t.events += "Z";
        // Done must be sticky.
        auto again = parser->Next();
        if (!again.ok() || again->type != MultipartEventType::kDone) std::abort();
        return t;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t slicing = data[0];
  const uint8_t mode = data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  std::string_view content_type = "multipart/form-data; boundary=XyZ";
  if (mode & kContentTypeInInput) {
    const size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) return 0;
    content_type = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
  }
  MultipartLimits limits;
  if (mode & kSmallLimits) {
    limits.max_header_bytes = 64;
    limits.max_headers = 3;
    limits.max_parts = 4;
  }

  // Copies, so that ASan catches any read beyond a slice or after Feed's
  // contract says the slice is gone.
  const std::string whole_copy(rest);
  const Transcript whole = Run(content_type, limits, {whole_copy});

  std::vector<std::string> owned;
  if (mode & kManySlices) {
    const size_t step = slicing % 17 + 1;
    for (size_t i = 0; i < rest.size(); i += step) owned.emplace_back(rest.substr(i, step));
  } else {
    const size_t split = rest.empty() ? 0 : (slicing * rest.size()) / 255;
    owned.emplace_back(rest.substr(0, split));
    owned.emplace_back(rest.substr(split));
  }
  std::vector<std::string_view> slices(owned.begin(), owned.end());
  const Transcript sliced = Run(content_type, limits, slices);
  if (!(whole == sliced)) std::abort();
  return 0;
}
