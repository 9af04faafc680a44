// The If request header of WebDAV (RFC 4918 §10.4): lists of conditions —
// lock tokens and entity tags, each possibly negated — optionally tagged
// with the resource they apply to. Parsing only; the handlers evaluate the
// lists against the tree's state (dav_locks.cc). Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::gateway::dav {

struct IfCondition {
  bool negated = false;
  bool is_etag = false;  // [etag], else <state token>
  std::string value;     // the token without <>, or the entity tag with its quotes
};

struct IfList {
  std::string resource;  // the tag's URI as sent, "" for the request's resource
  std::vector<IfCondition> conditions;
};

// Malformed: kInvalidArgument (the request is 400).
Result<std::vector<IfList>> ParseIfHeader(std::string_view header);

// Every state token the header names, negated or not: the lock tokens the
// request submits.
std::vector<std::string> SubmittedTokens(const std::vector<IfList>& lists);

}  // namespace nexus::gateway::dav
