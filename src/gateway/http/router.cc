#include "gateway/http/router.h"

#include <cassert>

#include "gateway/backends/error_mapping.h"

namespace nexus::gateway {
namespace {

std::vector<std::string> SplitPattern(std::string_view pattern) {
  assert(!pattern.empty() && pattern.front() == '/');
  std::vector<std::string> out;
  if (pattern == "/") return out;
  std::size_t start = 1;
  while (true) {
    std::size_t slash = pattern.find('/', start);
    out.emplace_back(pattern.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool IsParam(const std::string& seg) { return seg.size() > 1 && seg.front() == ':'; }

bool PrefixMatches(const Route& route, const std::vector<std::string>& segments) {
  if (segments.size() < route.segments.size()) return false;
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    if (route.segments[i] != segments[i]) return false;
  }
  return true;
}

bool SegmentsMatch(const Route& route, const std::vector<std::string>& segments) {
  if (route.prefix) return false;  // matched after the exact routes
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsParam(want)) {
      if (segments[i].empty()) return false;
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::Add(std::string method, std::string_view pattern, RouteOptions options,
                 Handler handler) {
  Route route{std::move(method), std::string(pattern), options, std::move(handler),
              SplitPattern(pattern)};
  for (const auto& r : routes_) {
    assert(!(r.method == route.method && r.segments == route.segments) && "duplicate route");
    (void)r;
  }
  routes_.push_back(std::move(route));
}

void Router::AddPrefix(std::string_view prefix, RouteOptions options, Handler handler) {
  Route route{kAnyMethod,         std::string(prefix),  options,
              std::move(handler), SplitPattern(prefix), true};
  for (const auto& seg : route.segments) {
    assert(!IsParam(seg) && "a prefix route has no parameters");
    (void)seg;
  }
  for (const auto& r : routes_) {
    assert(!(r.prefix && r.segments == route.segments) && "duplicate prefix route");
    (void)r;
  }
  routes_.push_back(std::move(route));
}

RouteMatch Router::Match(std::string_view method, const std::vector<std::string>& segments) const {
  RouteMatch m;
  for (const auto& route : routes_) {
    if (!SegmentsMatch(route, segments)) continue;
    if (route.method == method) {
      m.kind = RouteMatch::Kind::kFound;
      m.route = &route;
      m.allow.clear();
      for (std::size_t i = 0; i < segments.size(); ++i) {
        if (IsParam(route.segments[i])) {
          m.params.emplace_back(route.segments[i].substr(1), segments[i]);
        }
      }
      return m;
    }
    // The same method may be registered under two patterns that both match
    // (":id" and a literal); list it once.
    bool listed = false;
    std::size_t pos = 0;
    while (!listed && pos < m.allow.size()) {
      std::size_t end = m.allow.find(", ", pos);
      if (end == std::string::npos) end = m.allow.size();
      listed = std::string_view(m.allow).substr(pos, end - pos) == route.method;
      pos = end + 2;
    }
    if (!listed) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += route.method;
    }
    m.kind = RouteMatch::Kind::kMethodNotAllowed;
  }
  if (m.kind == RouteMatch::Kind::kMethodNotAllowed) return m;
  for (const auto& route : routes_) {
    if (route.prefix && PrefixMatches(route, segments)) {
      m.kind = RouteMatch::Kind::kFound;
      m.route = &route;
      return m;
    }
  }
  return m;
}

Response NoRouteResponse(const RouteMatch& match) {
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    Response r = ErrorJson(405, "method not allowed");
    r.headers.Add("Allow", match.allow);
    return r;
  }
  return ErrorJson(404, "not found");
}

}  // namespace nexus::gateway
