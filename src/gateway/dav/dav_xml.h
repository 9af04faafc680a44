// WebDAV's XML, through libxml2: a writer for the bodies Nexus sends
// (multistatus, error, lock discovery) and readers for the bodies clients
// send (propfind, propertyupdate, lockinfo).
//
// Parsing never touches the network, never loads or expands external
// entities, and refuses any document with a DTD (no internal entities
// either: an entity bomb is a 400, not a memory spike). Names are compared by
// namespace URI and local name, never by prefix. Values of properties a
// client sets are kept as the XML of the property's children (a dead
// property may hold markup, RFC 4918 §4.4), with the in-scope namespace
// declarations the children use.
// Thread-compatible: one writer per response; the readers are functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::gateway::dav {

inline constexpr std::string_view kDavNs = "DAV:";

// An element name: namespace URI ("" for none) and local name.
struct QName {
  std::string ns;
  std::string name;
  bool operator==(const QName&) const = default;
};

inline QName Dav(std::string_view name) { return {std::string(kDavNs), std::string(name)}; }

// Builds one XML document. The first element opened declares the DAV:
// namespace (prefix "D"); elements of other namespaces declare theirs where
// they appear.
class XmlWriter {
 public:
  XmlWriter();
  ~XmlWriter();
  XmlWriter(const XmlWriter&) = delete;
  XmlWriter& operator=(const XmlWriter&) = delete;

  void Open(const QName& name);
  void Close();
  void Text(std::string_view text);
  // <name>text</name>
  void Leaf(const QName& name, std::string_view text);
  // <name/>
  void Empty(const QName& name);
  // Markup kept from a request (a dead property's value), written as is.
  void Raw(std::string_view xml);
  // Closes what is open and returns the document.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// <D:error><D:{condition}/></D:error>, the body of a failed precondition.
std::string ErrorBody(std::string_view condition);

// ---- request bodies -----------------------------------------------------------

enum class PropfindKind { kAllProp, kPropName, kProp };

struct PropfindBody {
  PropfindKind kind = PropfindKind::kAllProp;
  std::vector<QName> props;  // kProp only
};

// An empty body is allprop (RFC 4918 §9.1). Malformed XML, a DTD, or a root
// other than DAV:propfind is kInvalidArgument.
Result<PropfindBody> ParsePropfind(std::string_view body);

// One instruction of a PROPPATCH, in document order.
struct PropUpdate {
  bool remove = false;  // DAV:remove, else DAV:set
  QName name;
  std::string value;  // set: the XML of the property's children
};
Result<std::vector<PropUpdate>> ParsePropertyUpdate(std::string_view body);

// A LOCK request's body (RFC 4918 §14.11). An empty body is a refresh.
struct LockInfo {
  bool shared = false;  // DAV:shared, else DAV:exclusive
  std::string owner;    // the XML of DAV:owner's children, kept to echo back
};
Result<LockInfo> ParseLockInfo(std::string_view body);

}  // namespace nexus::gateway::dav
