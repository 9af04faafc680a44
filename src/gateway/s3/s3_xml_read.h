// Reading the small XML documents S3 clients send (a multi-delete, a
// Complete's part list) and the metadata property: libxml2 with no network
// access and no DTD, so no entity is ever expanded. Thread-safe.
#pragma once

#include <libxml/tree.h>

#include <memory>
#include <string>
#include <string_view>

namespace nexus::gateway::s3 {

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// The parsed document; null when it is malformed, larger than libxml2
// takes (2 GiB) or declares a DTD.
XmlDoc ReadXml(std::string_view text);
// An element's local name.
std::string_view NameOf(const xmlNode* n);
// An element's text content ("" when none).
std::string TextOf(const xmlNode* n);

}  // namespace nexus::gateway::s3
