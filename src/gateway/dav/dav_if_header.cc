#include "gateway/dav/dav_if_header.h"

namespace nexus::gateway::dav {
namespace {

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
}

// The text up to `close` after the opening character at *i.
Result<std::string> Delimited(std::string_view s, size_t* i, char close) {
  const size_t end = s.find(close, *i + 1);
  if (end == std::string_view::npos) return InvalidArgumentError("malformed If header");
  std::string out(s.substr(*i + 1, end - *i - 1));
  *i = end + 1;
  return out;
}

}  // namespace

Result<std::vector<IfList>> ParseIfHeader(std::string_view s) {
  std::vector<IfList> out;
  std::string resource;
  size_t i = 0;
  for (;;) {
    SkipSpace(s, &i);
    if (i >= s.size()) break;
    if (s[i] == '<') {
      NEXUS_ASSIGN_OR_RETURN(resource, Delimited(s, &i, '>'));
      continue;
    }
    if (s[i] != '(') return InvalidArgumentError("malformed If header");
    ++i;
    IfList list;
    list.resource = resource;
    for (;;) {
      SkipSpace(s, &i);
      if (i >= s.size()) return InvalidArgumentError("malformed If header: unclosed list");
      if (s[i] == ')') {
        ++i;
        break;
      }
      IfCondition c;
      if (s.substr(i, 3) == "Not" || s.substr(i, 3) == "not") {
        c.negated = true;
        i += 3;
        SkipSpace(s, &i);
        if (i >= s.size()) return InvalidArgumentError("malformed If header");
      }
      if (s[i] == '<') {
        NEXUS_ASSIGN_OR_RETURN(c.value, Delimited(s, &i, '>'));
      } else if (s[i] == '[') {
        c.is_etag = true;
        NEXUS_ASSIGN_OR_RETURN(c.value, Delimited(s, &i, ']'));
      } else {
        return InvalidArgumentError(
            "malformed If header: a condition is neither <token> nor [etag]");
      }
      list.conditions.push_back(std::move(c));
    }
    if (list.conditions.empty()) return InvalidArgumentError("malformed If header: empty list");
    out.push_back(std::move(list));
  }
  if (out.empty()) return InvalidArgumentError("malformed If header: no list");
  return out;
}

std::vector<std::string> SubmittedTokens(const std::vector<IfList>& lists) {
  std::vector<std::string> out;
  for (const IfList& l : lists) {
    for (const IfCondition& c : l.conditions) {
      if (!c.is_etag) out.push_back(c.value);
    }
  }
  return out;
}

}  // namespace nexus::gateway::dav
