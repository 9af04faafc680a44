#include "gateway/dav/dav_props.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>

#include "gateway/dav/dav_locks.h"
#include "gateway/dav/dav_request.h"

namespace nexus::gateway::dav {
namespace {

// The live properties allprop and propname list, in that order.
constexpr std::array<std::string_view, 9> kLiveNames = {
    "resourcetype",   "getcontentlength", "getlastmodified", "creationdate", "getetag",
    "getcontenttype", "displayname",      "lockdiscovery",   "supportedlock"};
constexpr std::array<std::string_view, 2> kQuotaNames = {"quota-available-bytes",
                                                         "quota-used-bytes"};

std::string FormatTime(int64_t unix_seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

bool IsQuotaName(std::string_view name) {
  return std::find(kQuotaNames.begin(), kQuotaNames.end(), name) != kQuotaNames.end();
}

// Writes live property `name` of `r` when it has one (to `w` unless null:
// a dry run); false when it has none.
bool WriteLive(XmlWriter* w, std::string_view name, const DavResource& r,
               const std::optional<daemonpb::Usage>& usage) {
  const daemonpb::DirEntry& e = r.entry;
  const bool folder = IsFolder(e);
  std::string text;
  if (name == "lockdiscovery" || name == "supportedlock") {
    if (w) {
      w->Open(Dav(name));
      if (name == "lockdiscovery") {
        for (const auto& l : r.locks) WriteActiveLock(*w, l, r.prefix);
      } else {
        for (std::string_view scope : {"exclusive", "shared"}) {
          w->Open(Dav("lockentry"));
          w->Open(Dav("lockscope"));
          w->Empty(Dav(scope));
          w->Close();
          w->Open(Dav("locktype"));
          w->Empty(Dav("write"));
          w->Close();
          w->Close();
        }
      }
      w->Close();
    }
    return true;
  }
  if (name == "resourcetype") {
    if (w) {
      w->Open(Dav(name));
      if (folder) w->Empty(Dav("collection"));
      w->Close();
    }
    return true;
  } else if (name == "getcontentlength" && !folder) {
    text = std::to_string(e.size());
  } else if (name == "getlastmodified") {
    text = HttpDate(e.modified());
  } else if (name == "creationdate") {
    text = FormatTime(e.modified(), "%Y-%m-%dT%H:%M:%SZ");
  } else if (name == "getetag" && !folder && !e.sha256().empty()) {
    text = EtagOf(e);
  } else if (name == "getcontenttype" && !folder) {
    text = ContentTypeOf(e.name());
  } else if (name == "displayname") {
    text = e.name();
  } else if (IsQuotaName(name) && usage) {
    int64_t value = usage->used_bytes();
    if (name == "quota-available-bytes") {
      // RFC 4331 §3: no limit is not a number; a very large one says so.
      value =
          usage->quota_bytes() < 0 ? INT64_MAX : std::max<int64_t>(0, usage->quota_bytes() - value);
    }
    text = std::to_string(value);
  } else {
    return false;
  }
  if (w) w->Leaf(Dav(name), text);
  return true;
}

const daemonpb::DeadProp* FindDead(const DavResource& r, const QName& q) {
  for (const auto& d : r.dead) {
    if (d.ns() == q.ns && d.name() == q.name) return &d;
  }
  return nullptr;
}

void OpenPropstat(XmlWriter& w) {
  w.Open(Dav("propstat"));
  w.Open(Dav("prop"));
}

void ClosePropstat(XmlWriter& w, std::string_view status) {
  w.Close();  // prop
  w.Leaf(Dav("status"), status);
  w.Close();  // propstat
}

}  // namespace

std::string HttpDate(int64_t unix_seconds) {
  return FormatTime(unix_seconds, "%a, %d %b %Y %H:%M:%S GMT");
}

std::string_view ContentTypeOf(std::string_view name) {
  struct Type {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr Type kTypes[] = {
      {".txt", "text/plain"},      {".html", "text/html"},      {".htm", "text/html"},
      {".css", "text/css"},        {".js", "text/javascript"},  {".json", "application/json"},
      {".xml", "application/xml"}, {".pdf", "application/pdf"}, {".png", "image/png"},
      {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},     {".gif", "image/gif"},
      {".svg", "image/svg+xml"},   {".mp3", "audio/mpeg"},      {".mp4", "video/mp4"},
      {".zip", "application/zip"}, {".gz", "application/gzip"}, {".md", "text/markdown"},
  };
  const size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    const std::string_view ext = name.substr(dot);
    for (const Type& t : kTypes) {
      if (EqualsIgnoreCase(ext, t.ext)) return t.type;
    }
  }
  return "application/octet-stream";
}

bool WantsLocks(const PropfindBody& query) {
  if (query.kind == PropfindKind::kAllProp) return true;
  if (query.kind != PropfindKind::kProp) return false;
  return std::any_of(query.props.begin(), query.props.end(),
                     [](const QName& q) { return q == Dav("lockdiscovery"); });
}

bool WantsDeadProps(const PropfindBody& query) {
  if (query.kind != PropfindKind::kProp) return true;
  // Dead properties never live in DAV: (PROPPATCH refuses to set those).
  return std::any_of(query.props.begin(), query.props.end(),
                     [](const QName& q) { return q.ns != kDavNs; });
}

bool WantsQuota(const PropfindBody& query) {
  if (query.kind != PropfindKind::kProp) return false;
  return std::any_of(query.props.begin(), query.props.end(),
                     [](const QName& q) { return q.ns == kDavNs && IsQuotaName(q.name); });
}

void WritePropResponse(XmlWriter& w, const DavResource& r, const PropfindBody& query,
                       const std::optional<daemonpb::Usage>& usage) {
  w.Open(Dav("response"));
  w.Leaf(Dav("href"), r.href);
  if (query.kind == PropfindKind::kPropName) {
    OpenPropstat(w);
    for (std::string_view name : kLiveNames) w.Empty(Dav(name));
    for (const auto& d : r.dead) w.Empty({d.ns(), d.name()});
    ClosePropstat(w, "HTTP/1.1 200 OK");
  } else if (query.kind == PropfindKind::kAllProp) {
    OpenPropstat(w);
    for (std::string_view name : kLiveNames) WriteLive(&w, name, r, usage);
    for (const auto& d : r.dead) w.Raw(d.value());
    ClosePropstat(w, "HTTP/1.1 200 OK");
  } else {
    std::vector<const QName*> found;
    std::vector<const QName*> missing;
    for (const QName& q : query.props) {
      const bool live = q.ns == kDavNs && WriteLive(nullptr, q.name, r, usage);
      (live || FindDead(r, q) ? found : missing).push_back(&q);
    }
    if (!found.empty()) {
      OpenPropstat(w);
      for (const QName* q : found) {
        if (q->ns == kDavNs && WriteLive(&w, q->name, r, usage)) continue;
        w.Raw(FindDead(r, *q)->value());
      }
      ClosePropstat(w, "HTTP/1.1 200 OK");
    }
    if (!missing.empty()) {
      OpenPropstat(w);
      for (const QName* q : missing) w.Empty(*q);
      ClosePropstat(w, "HTTP/1.1 404 Not Found");
    }
  }
  w.Close();  // response
}

}  // namespace nexus::gateway::dav
