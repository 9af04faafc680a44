#include "gateway/dav/dav_locks.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/vfs_path.h"
#include "gateway/dav/dav_if_header.h"
#include "gateway/dav/dav_methods.h"
#include "gateway/dav/dav_path.h"

namespace nexus::gateway::dav {
namespace {

// What an If condition is checked against: one resource's ETag and locks.
struct ResourceState {
  std::string etag;  // "" when it does not exist or is a folder
  std::vector<std::string> tokens;
};

asio::awaitable<Result<std::vector<daemonpb::ActiveLock>>> ListLocks(DaemonClient& daemon,
                                                                     std::string owner,
                                                                     std::string path, bool below) {
  daemonpb::ListLocksRequest call;
  call.set_owner(std::move(owner));
  call.set_path(std::move(path));
  call.set_below(below);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListLocksResponse listed,
                            co_await daemon.ListLocks(std::move(call)));
  co_return std::vector<daemonpb::ActiveLock>(listed.locks().begin(), listed.locks().end());
}

asio::awaitable<Result<ResourceState>> StateOf(DaemonClient& daemon, std::string owner,
                                               std::string path) {
  ResourceState state;
  NEXUS_CO_ASSIGN_OR_RETURN(std::optional<daemonpb::DirEntry> entry,
                            co_await StatEntry(daemon, owner, path));
  if (entry && !IsFolder(*entry)) state.etag = EtagOf(*entry);
  NEXUS_CO_ASSIGN_OR_RETURN(std::vector<daemonpb::ActiveLock> locks,
                            co_await ListLocks(daemon, owner, path, false));
  for (const auto& l : locks) state.tokens.push_back(l.token());
  co_return state;
}

bool ConditionHolds(const IfCondition& c, const ResourceState& s) {
  bool hit = false;
  if (c.is_etag) {
    std::string_view tag = c.value;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    hit = !s.etag.empty() && tag == s.etag;
  } else {
    hit = std::find(s.tokens.begin(), s.tokens.end(), c.value) != s.tokens.end();
  }
  return hit != c.negated;
}

Response Locked(std::string_view href) {
  XmlWriter w;
  w.Open(Dav("error"));
  w.Open(Dav("lock-token-submitted"));
  w.Leaf(Dav("href"), href);
  Response resp;
  resp.status = 423;
  resp.headers.Set("Content-Type", "application/xml; charset=utf-8");
  resp.body = w.Finish();
  return resp;
}

}  // namespace

std::vector<daemonpb::ActiveLock> LocksCovering(const std::vector<daemonpb::ActiveLock>& locks,
                                                std::string_view path) {
  std::vector<daemonpb::ActiveLock> out;
  for (const auto& l : locks) {
    if (l.path() == path || (l.deep() && VfsIsSelfOrDescendant(path, l.path()))) out.push_back(l);
  }
  return out;
}

asio::awaitable<Result<std::optional<Response>>> CheckWrite(DavRequest& r,
                                                            std::vector<WriteScope> scopes) {
  using Out = std::optional<Response>;
  std::vector<IfList> lists;
  if (const std::string* header = r.req.headers.Find("If")) {
    NEXUS_CO_ASSIGN_OR_RETURN(lists, ParseIfHeader(*header));
    // The header must hold: some list true for its resource.
    std::map<std::string, ResourceState> states;
    bool holds = false;
    for (const IfList& list : lists) {
      std::string path = r.path;
      if (!list.resource.empty()) {
        const std::string* host = r.req.headers.Find("Host");
        Result<std::string> tagged = DestinationTreePath(list.resource, host ? *host : "");
        if (!tagged.ok()) continue;  // another server's resource: this list is false
        path = *tagged;
      }
      auto it = states.find(path);
      if (it == states.end()) {
        if (states.size() == kMaxIfResources) {
          co_return Out(DavError(400, "the If header names more than " +
                                          std::to_string(kMaxIfResources) + " resources"));
        }
        NEXUS_CO_ASSIGN_OR_RETURN(ResourceState s, co_await StateOf(r.daemon, r.owner, path));
        it = states.emplace(path, std::move(s)).first;
      }
      const ResourceState& s = it->second;
      holds = holds || std::all_of(list.conditions.begin(), list.conditions.end(),
                                   [&s](const IfCondition& c) { return ConditionHolds(c, s); });
    }
    if (!holds) co_return Out(DavError(412, "precondition failed: If"));
  }
  const std::vector<std::string> submitted = SubmittedTokens(lists);
  auto unsubmitted = [&submitted](const daemonpb::ActiveLock& l) {
    return std::find(submitted.begin(), submitted.end(), l.token()) == submitted.end();
  };
  for (const WriteScope& scope : scopes) {
    NEXUS_CO_ASSIGN_OR_RETURN(std::vector<daemonpb::ActiveLock> locks,
                              co_await ListLocks(r.daemon, r.owner, scope.path, scope.below));
    for (const auto& l : locks) {
      if (unsubmitted(l)) co_return Out(Locked(HrefOf(r.prefix, l.path(), false)));
    }
    if (!scope.member || scope.path == "/") continue;
    // The parent's own locks: a deep one above it already covered the path.
    const std::string parent = VfsParent(scope.path);
    NEXUS_CO_ASSIGN_OR_RETURN(locks, co_await ListLocks(r.daemon, r.owner, parent, false));
    for (const auto& l : locks) {
      if (l.path() == parent && unsubmitted(l)) {
        co_return Out(Locked(HrefOf(r.prefix, l.path(), true)));
      }
    }
  }
  co_return Out();
}

int64_t LockTimeout(const Request& req) {
  const std::string* v = req.headers.Find("Timeout");
  if (!v) return kDefaultLockSeconds;
  std::string_view rest = *v;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (EqualsIgnoreCase(item, "Infinite")) return kMaxLockSeconds;
    if (item.size() > 7 && EqualsIgnoreCase(item.substr(0, 7), "Second-")) {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(item.data() + 7, item.data() + item.size(), n);
      if (ec == std::errc() && end == item.data() + item.size() && n > 0) {
        return std::min(n, kMaxLockSeconds);
      }
      if (ec == std::errc::result_out_of_range) return kMaxLockSeconds;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return kDefaultLockSeconds;
}

void WriteActiveLock(XmlWriter& w, const daemonpb::ActiveLock& lock, std::string_view prefix) {
  w.Open(Dav("activelock"));
  w.Open(Dav("locktype"));
  w.Empty(Dav("write"));
  w.Close();
  w.Open(Dav("lockscope"));
  w.Empty(Dav(lock.shared() ? "shared" : "exclusive"));
  w.Close();
  w.Leaf(Dav("depth"), lock.deep() ? "infinity" : "0");
  if (!lock.holder().empty()) w.Raw(lock.holder());
  w.Leaf(Dav("timeout"), "Second-" + std::to_string(lock.timeout_seconds()));
  w.Open(Dav("locktoken"));
  w.Leaf(Dav("href"), lock.token());
  w.Close();
  w.Open(Dav("lockroot"));
  w.Leaf(Dav("href"), HrefOf(prefix, lock.path(), false));
  w.Close();
  w.Close();
}

}  // namespace nexus::gateway::dav
