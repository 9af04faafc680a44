#include "gateway/s3/s3_listing.h"

#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {

ListPage ListKeys(const std::vector<ObjectEntry>& keys, const ListParams& p) {
  ListPage page;
  const bool after_is_prefix = !p.delimiter.empty() && p.after.size() >= p.delimiter.size() &&
                               p.after.ends_with(p.delimiter);
  int64_t count = 0;
  for (const ObjectEntry& e : keys) {
    if (!e.key.starts_with(p.prefix)) continue;
    if (!p.after.empty() && e.key <= p.after) continue;
    if (after_is_prefix && e.key.starts_with(p.after)) continue;
    std::string common;
    if (!p.delimiter.empty()) {
      const std::size_t at = e.key.find(p.delimiter, p.prefix.size());
      if (at != std::string::npos) common = e.key.substr(0, at + p.delimiter.size());
    }
    if (!common.empty() && !page.common_prefixes.empty() && page.common_prefixes.back() == common) {
      continue;
    }
    if (count == p.max_keys) {
      page.truncated = true;
      break;
    }
    ++count;
    if (!common.empty()) {
      page.common_prefixes.push_back(common);
      page.last = common;
    } else {
      page.contents.push_back(e);
      page.last = e.key;
    }
  }
  return page;
}

std::string EncodeContinuationToken(const std::string& last) { return HexOf(last); }

bool DecodeContinuationToken(const std::string& token, std::string* last) {
  if (token.size() % 2 != 0) return false;
  last->clear();
  for (std::size_t i = 0; i < token.size(); i += 2) {
    auto nibble = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(token[i]);
    const int lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return false;
    last->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

}  // namespace nexus::gateway::s3
