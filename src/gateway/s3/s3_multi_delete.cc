// DeleteObjects (POST /bucket?delete): the request's <Delete> document is
// read whole (at most kMaxBodyBytes), checked against its Content-MD5 when
// one is sent, and parsed with libxml2 with the network, entities and DTDs
// off; each key is then deleted as DeleteObject would, and the answer lists
// what was deleted (unless Quiet) and what failed.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <vector>

#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kMaxBodyBytes = 2 << 20;
constexpr size_t kMaxKeys = 1000;

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

std::string_view NameOf(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

std::string TextOf(const xmlNode* n) {
  xmlChar* text = xmlNodeGetContent(n);
  std::string out = text ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  return out;
}

// The keys of a <Delete> document and its Quiet flag; false when malformed.
bool ParseDelete(const std::string& body, std::vector<std::string>* keys, bool* quiet) {
  if (body.size() > INT_MAX) return false;
  std::unique_ptr<xmlDoc, DocFree> doc(
      xmlReadMemory(body.data(), static_cast<int>(body.size()), nullptr, nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc || doc->intSubset || doc->extSubset) return false;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || NameOf(root) != "Delete") return false;
  for (const xmlNode* n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (NameOf(n) == "Quiet") *quiet = TextOf(n) == "true";
    if (NameOf(n) != "Object") continue;
    for (const xmlNode* k = n->children; k; k = k->next) {
      if (k->type == XML_ELEMENT_NODE && NameOf(k) == "Key") keys->push_back(TextOf(k));
    }
  }
  return true;
}

asio::awaitable<Result<std::string>> ReadBody(Request& req) {
  std::string body = req.body;
  if (!req.body_reader) co_return body;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    NEXUS_CO_ASSIGN_OR_RETURN(size_t n, co_await req.body_reader->Read(std::span<char>(buf)));
    if (n == 0) break;
    body.append(buf.data(), n);
    if (body.size() > kMaxBodyBytes) co_return InvalidArgumentError("body too large");
  }
  co_return body;
}

std::string Md5Of(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

}  // namespace

asio::awaitable<Response> DeleteObjects(S3Call& call) {
  Result<std::string> body = co_await ReadBody(call.req);
  const S3Error malformed = MakeS3Error(400, "MalformedXML",
                                        "The XML you provided was not well-formed or did not "
                                        "validate against our published schema.");
  if (!body.ok()) co_return Fail(call, malformed);
  if (call.payload_hash != kUnsignedPayload && call.payload_hash != Sha256Hex(*body)) {
    co_return Fail(call, MakeS3Error(400, "XAmzContentSHA256Mismatch",
                                     "The provided 'x-amz-content-sha256' header does not match "
                                     "what was computed."));
  }
  if (const std::string* md5 = call.req.headers.Find("Content-MD5")) {
    if (DecodeBase64(*md5) != Md5Of(*body)) {
      co_return Fail(call, MakeS3Error(400, "BadDigest",
                                       "The Content-MD5 you specified did not match what we "
                                       "received."));
    }
  }
  std::vector<std::string> keys;
  bool quiet = false;
  if (!ParseDelete(*body, &keys, &quiet) || keys.empty() || keys.size() > kMaxKeys) {
    co_return Fail(call, malformed);
  }
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) {
    co_return Fail(call, *missing);
  }

  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const std::string& key : keys) {
    S3Call one = call;
    one.key = key;
    std::optional<S3Error> failed = co_await DeleteKey(one);
    if (failed) {
      out += "<Error><Key>" + XmlEscape(key) + "</Key><Code>" + XmlEscape(failed->code) +
             "</Code><Message>" + XmlEscape(failed->message) + "</Message></Error>";
    } else if (!quiet) {
      out += "<Deleted><Key>" + XmlEscape(key) + "</Key></Deleted>";
    }
  }
  out += "</DeleteResult>";
  co_return XmlResponse(std::move(out));
}

}  // namespace nexus::gateway::s3
