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

#include "gateway/formats/base64.h"
#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"
#include "gateway/s3/s3_xml_read.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kMaxBodyBytes = 2 << 20;
constexpr size_t kMaxKeys = 1000;

// The keys of a <Delete> document and its Quiet flag; false when malformed.
bool ParseDelete(const std::string& body, std::vector<std::string>* keys, bool* quiet) {
  XmlDoc doc = ReadXml(body);
  if (!doc) return false;
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

std::string Md5Of(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

}  // namespace

asio::awaitable<Response> DeleteObjects(S3Call& call) {
  Result<std::string> body = co_await ReadSmallBody(call.req, kMaxBodyBytes);
  const S3Error malformed = MakeS3Error(400, "MalformedXML",
                                        "The XML you provided was not well-formed or did not "
                                        "validate against our published schema.");
  if (!body.ok()) co_return Fail(call, malformed);
  if (call.payload_hash != kUnsignedPayload && call.payload_hash != Sha256Hex(*body)) {
    co_return Fail(call, MakeS3Error(400, "XAmzContentSHA256Mismatch",
                                     "The provided 'x-amz-content-sha256' header does not match "
                                     "what was computed."));
  }
  if (std::optional<S3Error> bad = CheckBodyChecksum(call, *body)) {
    co_return Fail(call, *bad);
  }
  if (const std::string* md5 = call.req.headers.Find("Content-MD5")) {
    if (DecodeBase64Strict(*md5) != Md5Of(*body)) {
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
