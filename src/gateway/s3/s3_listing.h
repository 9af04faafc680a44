// ListObjects (v1 and v2) over a bucket's keys, with no I/O: keys fed in
// UTF-8 byte order, one page out (prefix, delimiter, max-keys, and where to
// resume: start-after, a continuation token or a marker). A page ends after
// max-keys entries, a common prefix counting as one, as S3's does. The
// continuation token is the hex of the last entry of the page before (a
// key, or a common prefix whose keys are all skipped). A ListPager is one
// request's; the functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nexus::gateway::s3 {

struct ObjectEntry {
  std::string key;
  int64_t size = 0;
  int64_t modified = 0;  // unix seconds
  std::string etag;      // quoted
};

struct ListParams {
  std::string prefix;
  std::string delimiter;
  int64_t max_keys = 1000;
  // Entries up to and including this one are skipped; a common prefix
  // (ending in the delimiter) skips every key below it too.
  std::string after;
};

struct ListPage {
  std::vector<ObjectEntry> contents;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string last;  // the page's last entry (key or common prefix); "" when empty
};

// Builds one page from keys fed in byte order, so a caller can stop
// producing keys as soon as the page is complete.
class ListPager {
 public:
  explicit ListPager(ListParams params) : p_(std::move(params)) {}

  // Takes the next key (in byte order); false once the page is complete
  // (max-keys entries and one more seen: truncated), when no later key can
  // change it.
  bool Add(const ObjectEntry& e);
  bool complete() const { return page_.truncated; }
  const ListParams& params() const { return p_; }
  ListPage Finish() { return std::move(page_); }

 private:
  ListParams p_;
  ListPage page_;
  int64_t count_ = 0;
};

std::string EncodeContinuationToken(const std::string& last);
// False when `token` is not one of ours.
bool DecodeContinuationToken(const std::string& token, std::string* last);

}  // namespace nexus::gateway::s3
