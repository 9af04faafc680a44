#include "gateway/dav/dav_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include <cassert>
#include <climits>

namespace nexus::gateway::dav {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
const char* C(const xmlChar* s) { return reinterpret_cast<const char*>(s); }

// Request bodies are small; more than this is not a WebDAV request body.
constexpr size_t kMaxBodyBytes = 1 << 20;

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

// Parses `body` with the network, entity substitution and DTD loading off;
// a document that carries a DTD at all is refused.
Result<Doc> ParseDocument(std::string_view body, std::string_view what) {
  if (body.size() > kMaxBodyBytes || body.size() > INT_MAX) {
    return InvalidArgumentError(std::string(what) + ": body too large");
  }
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(),
                                                                    &xmlFreeParserCtxt);
  if (!ctxt) return InternalError(std::string(what) + ": no XML parser context");
  Doc doc(xmlCtxtReadMemory(ctxt.get(), body.data(), static_cast<int>(body.size()), nullptr,
                            nullptr, options));
  // A namespace error (xmlns:p="") leaves a document but is not well-formed
  // XML with namespaces.
  if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
    return InvalidArgumentError(std::string(what) + ": malformed XML");
  }
  if (doc->intSubset || doc->extSubset) {
    return InvalidArgumentError(std::string(what) + ": a DTD is not accepted");
  }
  if (!xmlDocGetRootElement(doc.get())) {
    return InvalidArgumentError(std::string(what) + ": no root element");
  }
  return doc;
}

bool IsElement(const xmlNode* n) { return n && n->type == XML_ELEMENT_NODE; }

QName NameOf(const xmlNode* n) {
  QName q;
  if (n->ns && n->ns->href) q.ns = C(n->ns->href);
  q.name = C(n->name);
  return q;
}

bool IsDav(const xmlNode* n, std::string_view name) {
  return IsElement(n) && n->ns && n->ns->href && kDavNs == C(n->ns->href) && name == C(n->name);
}

// The element as standalone XML: copied into a document of its own so that
// every namespace it uses is declared on it.
std::string Serialize(xmlNode* n) {
  Doc doc(xmlNewDoc(X("1.0")));
  xmlNode* copy = xmlDocCopyNode(n, doc.get(), 1);
  if (!copy) return "";
  xmlDocSetRootElement(doc.get(), copy);
  xmlReconciliateNs(doc.get(), copy);
  xmlBuffer* buf = xmlBufferCreate();
  xmlNodeDump(buf, doc.get(), copy, 0, 0);
  std::string out(C(xmlBufferContent(buf)), static_cast<size_t>(xmlBufferLength(buf)));
  xmlBufferFree(buf);
  return out;
}

}  // namespace

// ---- writer ---------------------------------------------------------------------

struct XmlWriter::Impl {
  xmlBuffer* buffer = nullptr;
  xmlTextWriter* writer = nullptr;
  int depth = 0;
};

XmlWriter::XmlWriter() : impl_(std::make_unique<Impl>()) {
  impl_->buffer = xmlBufferCreate();
  impl_->writer = xmlNewTextWriterMemory(impl_->buffer, 0);
  xmlTextWriterStartDocument(impl_->writer, nullptr, "utf-8", nullptr);
}

XmlWriter::~XmlWriter() {
  if (impl_->writer) xmlFreeTextWriter(impl_->writer);
  if (impl_->buffer) xmlBufferFree(impl_->buffer);
}

void XmlWriter::Open(const QName& name) {
  xmlTextWriter* w = impl_->writer;
  if (name.ns == kDavNs) {
    xmlTextWriterStartElementNS(w, X("D"), X(name.name.c_str()),
                                impl_->depth == 0 ? X("DAV:") : nullptr);
  } else if (name.ns.empty()) {
    xmlTextWriterStartElement(w, X(name.name.c_str()));
    xmlTextWriterWriteAttribute(w, X("xmlns"), X(""));
  } else {
    xmlTextWriterStartElementNS(w, X("X"), X(name.name.c_str()), X(name.ns.c_str()));
  }
  ++impl_->depth;
}

void XmlWriter::Close() {
  assert(impl_->depth > 0);
  xmlTextWriterEndElement(impl_->writer);
  --impl_->depth;
}

void XmlWriter::Text(std::string_view text) {
  xmlTextWriterWriteFormatString(impl_->writer, "%.*s", static_cast<int>(text.size()), text.data());
}

void XmlWriter::Leaf(const QName& name, std::string_view text) {
  Open(name);
  Text(text);
  Close();
}

void XmlWriter::Empty(const QName& name) {
  Open(name);
  Close();
}

void XmlWriter::Raw(std::string_view xml) {
  xmlTextWriterWriteRawLen(impl_->writer, X(std::string(xml).c_str()),
                           static_cast<int>(xml.size()));
}

std::string XmlWriter::Finish() {
  while (impl_->depth > 0) Close();
  xmlTextWriterEndDocument(impl_->writer);
  xmlFreeTextWriter(impl_->writer);
  impl_->writer = nullptr;
  return std::string(C(xmlBufferContent(impl_->buffer)),
                     static_cast<size_t>(xmlBufferLength(impl_->buffer)));
}

std::string ErrorBody(std::string_view condition) {
  XmlWriter w;
  w.Open(Dav("error"));
  w.Empty(Dav(condition));
  return w.Finish();
}

// ---- readers --------------------------------------------------------------------

Result<PropfindBody> ParsePropfind(std::string_view body) {
  PropfindBody out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  NEXUS_ASSIGN_OR_RETURN(Doc doc, ParseDocument(body, "propfind"));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsDav(root, "propfind")) return InvalidArgumentError("propfind: the root is not propfind");
  bool chosen = false;
  for (xmlNode* c = root->children; c; c = c->next) {
    if (!IsElement(c)) continue;
    if (IsDav(c, "allprop")) {
      out.kind = PropfindKind::kAllProp;
    } else if (IsDav(c, "propname")) {
      out.kind = PropfindKind::kPropName;
    } else if (IsDav(c, "prop")) {
      out.kind = PropfindKind::kProp;
      for (xmlNode* p = c->children; p; p = p->next) {
        if (IsElement(p)) out.props.push_back(NameOf(p));
      }
    } else {
      continue;  // DAV:include and extensions are ignored
    }
    if (chosen) return InvalidArgumentError("propfind: more than one of allprop, propname, prop");
    chosen = true;
  }
  if (!chosen) return InvalidArgumentError("propfind: none of allprop, propname, prop");
  return out;
}

Result<std::vector<PropUpdate>> ParsePropertyUpdate(std::string_view body) {
  NEXUS_ASSIGN_OR_RETURN(Doc doc, ParseDocument(body, "proppatch"));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsDav(root, "propertyupdate")) {
    return InvalidArgumentError("proppatch: the root is not propertyupdate");
  }
  std::vector<PropUpdate> out;
  for (xmlNode* c = root->children; c; c = c->next) {
    const bool set = IsDav(c, "set");
    if (!set && !IsDav(c, "remove")) continue;
    for (xmlNode* prop = c->children; prop; prop = prop->next) {
      if (!IsDav(prop, "prop")) continue;
      for (xmlNode* p = prop->children; p; p = p->next) {
        if (!IsElement(p)) continue;
        PropUpdate u;
        u.remove = !set;
        u.name = NameOf(p);
        if (set) u.value = Serialize(p);
        out.push_back(std::move(u));
      }
    }
  }
  if (out.empty()) return InvalidArgumentError("proppatch: no property to set or remove");
  return out;
}

Result<LockInfo> ParseLockInfo(std::string_view body) {
  LockInfo out;
  NEXUS_ASSIGN_OR_RETURN(Doc doc, ParseDocument(body, "lock"));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsDav(root, "lockinfo")) return InvalidArgumentError("lock: the root is not lockinfo");
  bool scoped = false;
  for (xmlNode* c = root->children; c; c = c->next) {
    if (IsDav(c, "lockscope")) {
      for (xmlNode* s = c->children; s; s = s->next) {
        if (IsDav(s, "shared")) out.shared = scoped = true;
        if (IsDav(s, "exclusive")) scoped = true;
      }
    } else if (IsDav(c, "owner")) {
      out.owner = Serialize(c);
    }
  }
  if (!scoped) return InvalidArgumentError("lock: no lockscope");
  return out;
}

}  // namespace nexus::gateway::dav
