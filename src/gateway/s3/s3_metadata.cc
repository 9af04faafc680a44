#include "gateway/s3/s3_metadata.h"

#include "gateway/formats/utf8.h"
#include "gateway/s3/s3_xml.h"
#include "gateway/s3/s3_xml_read.h"

namespace nexus::gateway::s3 {
namespace {

// The representation headers S3 stores as sent and answers again.
constexpr std::string_view kStoredHeaders[] = {"Content-Type",        "Content-Encoding",
                                               "Content-Disposition", "Content-Language",
                                               "Cache-Control",       "Expires"};
constexpr std::string_view kUserPrefix = "x-amz-meta-";

// Text a header value and an XML document can both carry.
bool StorableValue(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 && c != '\t') return false;
  }
  return ToValidUtf8(v) == v;
}

S3Error InvalidValue(std::string_view name) {
  return MakeS3Error(400, "InvalidArgument",
                     "The value of " + std::string(name) + " is not valid UTF-8 text.");
}

}  // namespace

const std::string* ObjectMetadata::content_type() const {
  for (const auto& [name, value] : headers) {
    if (name == "Content-Type") return &value;
  }
  return nullptr;
}

std::variant<ObjectMetadata, S3Error> MetadataOfRequest(const Headers& headers) {
  ObjectMetadata out;
  size_t user_bytes = 0;
  for (std::string_view name : kStoredHeaders) {
    const std::string* value = headers.Find(name);
    if (!value) continue;
    if (!StorableValue(*value)) return InvalidValue(name);
    out.headers.emplace_back(std::string(name), *value);
  }
  for (const auto& [name, value] : headers.fields()) {
    std::string lower = AsciiLower(name);
    if (!lower.starts_with(kUserPrefix) || lower.size() == kUserPrefix.size()) continue;
    if (!StorableValue(value)) return InvalidValue(name);
    user_bytes += lower.size() - kUserPrefix.size() + value.size();
    out.headers.emplace_back(std::move(lower), value);
  }
  if (user_bytes > kMaxUserMetadataBytes) {
    return MakeS3Error(400, "MetadataTooLarge",
                       "Your metadata headers exceed the maximum allowed metadata size.");
  }
  return out;
}

std::string EncodeMetadata(const ObjectMetadata& metadata) {
  std::string out = "<s3:" + std::string(kMetadataProperty) + " xmlns:s3=\"" +
                    std::string(kMetadataNamespace) + "\">";
  for (const auto& [name, value] : metadata.headers) {
    out += "<s3:header name=\"" + XmlEscape(name) + "\">" + XmlEscape(value) + "</s3:header>";
  }
  if (const auto& c = metadata.checksum) {
    out += "<s3:checksum name=\"" + XmlEscape(c->name) + "\" sha256=\"" + XmlEscape(c->sha256) +
           "\">" + XmlEscape(c->value) + "</s3:checksum>";
  }
  out += "</s3:" + std::string(kMetadataProperty) + ">";
  return out;
}

std::optional<ObjectMetadata> DecodeMetadata(std::string_view value) {
  XmlDoc doc = ReadXml(value);
  if (!doc) return std::nullopt;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  auto named = [](const xmlNode* n, std::string_view local) {
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           reinterpret_cast<const char*>(n->ns->href) == kMetadataNamespace &&
           reinterpret_cast<const char*>(n->name) == local;
  };
  if (!root || !named(root, kMetadataProperty)) return std::nullopt;
  ObjectMetadata out;
  auto attribute = [](const xmlNode* n, const char* name) -> std::optional<std::string> {
    xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
    if (!v) return std::nullopt;
    std::string s(reinterpret_cast<const char*>(v));
    xmlFree(v);
    return s;
  };
  for (const xmlNode* n = root->children; n; n = n->next) {
    const bool header = named(n, "header");
    if (!header && !named(n, "checksum")) continue;
    std::optional<std::string> name = attribute(n, "name");
    xmlChar* text = xmlNodeGetContent(n);
    if (name && text) {
      std::string value(reinterpret_cast<const char*>(text));
      if (header) {
        out.headers.emplace_back(std::move(*name), std::move(value));
      } else if (std::optional<std::string> sha = attribute(n, "sha256")) {
        out.checksum = StoredChecksum{std::move(*name), std::move(value), std::move(*sha)};
      }
    }
    xmlFree(text);
  }
  return out;
}

void ApplyMetadata(const ObjectMetadata& metadata, const Request& req, Response& r) {
  r.headers.Set("Content-Type", "binary/octet-stream");
  for (const auto& [name, value] : metadata.headers) r.headers.Set(name, value);
  // A GET's response-* parameters (signed with the request, so the key's
  // owner chose them) override what is stored.
  if (req.method != "GET") return;
  for (std::string_view name : kStoredHeaders) {
    const std::string* asked = req.QueryParam("response-" + AsciiLower(name));
    if (asked && StorableValue(*asked)) r.headers.Set(name, *asked);
  }
}

void ApplyChecksum(const ObjectMetadata& metadata, std::string_view content_sha256,
                   const Request& req, Response& r) {
  const auto& c = metadata.checksum;
  if (!c || c->sha256 != content_sha256 || req.headers.Has("Range")) return;
  const std::string* mode = req.headers.Find("x-amz-checksum-mode");
  if (!mode || !EqualsIgnoreCase(*mode, "enabled")) return;
  r.headers.Set(c->name, c->value);
  r.headers.Set("x-amz-checksum-type", "FULL_OBJECT");
}

}  // namespace nexus::gateway::s3
