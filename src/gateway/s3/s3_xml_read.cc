#include "gateway/s3/s3_xml_read.h"

#include <libxml/parser.h>

#include <climits>

namespace nexus::gateway::s3 {

XmlDoc ReadXml(std::string_view text) {
  if (text.size() > INT_MAX) return nullptr;
  XmlDoc doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (doc && (doc->intSubset || doc->extSubset)) return nullptr;
  return doc;
}

std::string_view NameOf(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

std::string TextOf(const xmlNode* n) {
  xmlChar* text = xmlNodeGetContent(n);
  std::string out = text ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  return out;
}

}  // namespace nexus::gateway::s3
