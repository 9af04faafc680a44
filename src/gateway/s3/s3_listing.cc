#include "gateway/s3/s3_listing.h"

#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {

bool ListPager::Add(const ObjectEntry& e) {
  if (page_.truncated) return false;
  if (!e.key.starts_with(p_.prefix)) return true;
  if (!p_.after.empty() && e.key <= p_.after) return true;
  const bool after_is_prefix = !p_.delimiter.empty() && p_.after.size() >= p_.delimiter.size() &&
                               p_.after.ends_with(p_.delimiter);
  if (after_is_prefix && e.key.starts_with(p_.after)) return true;
  std::string common;
  if (!p_.delimiter.empty()) {
    const std::size_t at = e.key.find(p_.delimiter, p_.prefix.size());
    if (at != std::string::npos) common = e.key.substr(0, at + p_.delimiter.size());
  }
  if (!common.empty() && !page_.common_prefixes.empty() && page_.common_prefixes.back() == common) {
    return true;
  }
  if (count_ == p_.max_keys) {
    page_.truncated = true;
    return false;
  }
  ++count_;
  if (!common.empty()) {
    page_.common_prefixes.push_back(common);
    page_.last = common;
  } else {
    page_.contents.push_back(e);
    page_.last = e.key;
  }
  return true;
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
