#include "gateway/s3/sigv4.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

#include "common/percent_encode.h"

namespace nexus::gateway::s3 {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

namespace {

// The query's parameters, decoded, in order; "a" without '=' is ("a", "").
Pairs DecodeQuery(std::string_view raw) {
  Pairs out;
  while (!raw.empty()) {
    const std::size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(PercentDecode(item), "");
    } else {
      out.emplace_back(PercentDecode(item.substr(0, eq)), PercentDecode(item.substr(eq + 1)));
    }
  }
  return out;
}

const std::string* Find(const Pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header value as it is signed: trimmed, each inner run of blanks one space.
std::string CanonicalValue(std::string_view v) {
  v = Trim(v);
  std::string out;
  out.reserve(v.size());
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank) out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "20130524T000000Z" as unix seconds; false when malformed.
bool ParseAmzDate(std::string_view s, int64_t* out) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !AllDigits(s.substr(0, 8)) ||
      !AllDigits(s.substr(9, 6))) {
    return false;
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    std::from_chars(s.data() + pos, s.data() + pos + len, v);
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return false;
  }
  *out = static_cast<int64_t>(timegm(&tm));
  return true;
}

S3Error Malformed(bool presigned, std::string message) {
  return MakeS3Error(
      400, presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed",
      std::move(message));
}

// Fills the credential scope from "AKID/20130524/us-east-1/s3/aws4_request".
std::variant<bool, S3Error> ParseCredential(std::string_view credential, bool presigned,
                                            std::string_view region, SigV4Auth& auth) {
  std::vector<std::string> parts = Split(credential, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || !AllDigits(parts[1])) {
    return Malformed(presigned,
                     "the credential is malformed; expecting "
                     "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"");
  }
  if (parts[4] != "aws4_request") {
    return Malformed(presigned, "the credential's terminal is not aws4_request");
  }
  if (parts[3] != "s3") {
    return Malformed(presigned, "the credential's service is '" + parts[3] + "', expecting 's3'");
  }
  if (parts[2] != region) {
    return Malformed(presigned, "the region '" + parts[2] + "' is wrong; expecting '" +
                                    std::string(region) + "'");
  }
  auth.access_key = std::move(parts[0]);
  auth.date = std::move(parts[1]);
  auth.region = std::move(parts[2]);
  auth.service = std::move(parts[3]);
  return true;
}

bool IsLowerHex(std::string_view s, std::size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The fields of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
std::variant<Pairs, S3Error> SplitAuthorization(std::string_view header) {
  constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (header.size() > kAlgorithm.size() && header[kAlgorithm.size()] != ' ')) {
    return MakeS3Error(400, "InvalidArgument",
                       "only AWS4-HMAC-SHA256 (Signature Version 4) is supported");
  }
  Pairs fields;
  for (const std::string& part : Split(header.substr(kAlgorithm.size()), ',')) {
    std::string_view p = Trim(part);
    const std::size_t eq = p.find('=');
    if (eq == std::string_view::npos) {
      return Malformed(false, "the authorization header is malformed");
    }
    fields.emplace_back(std::string(Trim(p.substr(0, eq))), std::string(Trim(p.substr(eq + 1))));
  }
  return fields;
}

}  // namespace

std::string HexOf(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return HexOf(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
  return mac;
}

std::string SigningKey(std::string_view secret_key, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret_key), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  // Each segment decoded, then encoded once: a client signs the key's
  // bytes, whichever of them it chose to escape on the wire.
  std::string out;
  bool first = true;
  for (const std::string& segment : Split(raw_path, '/')) {
    if (!first) out.push_back('/');
    first = false;
    out += PercentEncode(PercentDecode(segment), false);
  }
  return out;
}

std::string CanonicalQuery(std::string_view raw_query, bool drop_signature) {
  Pairs encoded;
  for (auto& [k, v] : DecodeQuery(raw_query)) {
    if (drop_signature && k == "X-Amz-Signature") continue;
    encoded.emplace_back(PercentEncode(k, false), PercentEncode(v, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string CanonicalHeaders(const Headers& headers, const std::vector<std::string>& names,
                             bool* missing) {
  *missing = false;
  std::string out;
  for (const std::string& name : names) {
    std::string joined;
    bool found = false;
    for (const auto& [field, value] : headers.fields()) {
      if (!EqualsIgnoreCase(field, name)) continue;
      if (found) joined.push_back(',');
      found = true;
      joined += CanonicalValue(value);
    }
    if (!found) {
      *missing = true;
      return "";
    }
    out += name;
    out.push_back(':');
    out += joined;
    out.push_back('\n');
  }
  return out;
}

std::string CanonicalRequest(const SigV4Request& req,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, bool presigned, bool* missing) {
  const std::size_t q = req.target.find('?');
  const std::string_view raw_query =
      q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1);
  std::string headers = CanonicalHeaders(req.headers, signed_headers, missing);
  if (*missing) return "";
  std::string names;
  for (const std::string& name : signed_headers) {
    if (!names.empty()) names.push_back(';');
    names += name;
  }
  return std::string(req.method) + "\n" + CanonicalUri(req.target.substr(0, q)) + "\n" +
         CanonicalQuery(raw_query, presigned) + "\n" + headers + "\n" + names + "\n" +
         std::string(payload_hash);
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         Sha256Hex(canonical_request);
}

std::variant<SigV4Auth, S3Error> ParseSigV4(const SigV4Request& req, std::string_view region,
                                            int64_t now) {
  const std::size_t q = req.target.find('?');
  const Pairs query =
      DecodeQuery(q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1));

  SigV4Auth auth;
  std::string credential;
  std::string signed_headers;
  if (Find(query, "X-Amz-Signature") != nullptr || Find(query, "X-Amz-Algorithm") != nullptr) {
    auth.presigned = true;
    const std::string* algorithm = Find(query, "X-Amz-Algorithm");
    const std::string* cred = Find(query, "X-Amz-Credential");
    const std::string* date = Find(query, "X-Amz-Date");
    const std::string* expires = Find(query, "X-Amz-Expires");
    const std::string* headers = Find(query, "X-Amz-SignedHeaders");
    const std::string* signature = Find(query, "X-Amz-Signature");
    if (!algorithm || !cred || !date || !expires || !headers || !signature) {
      return Malformed(true,
                       "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                       "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                       "X-Amz-Expires parameters.");
    }
    if (*algorithm != "AWS4-HMAC-SHA256") {
      return Malformed(true, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    }
    int64_t expiry = 0;
    if (AllDigits(*expires) && expires->size() <= 7) {
      std::from_chars(expires->data(), expires->data() + expires->size(), expiry);
    }
    if (expiry < 1 || expiry > kMaxPresignedExpirySeconds) {
      return Malformed(true, "X-Amz-Expires must be between 1 and 604800 seconds");
    }
    credential = *cred;
    signed_headers = *headers;
    auth.amz_date = *date;
    auth.signature = *signature;
    auth.payload_hash = std::string(kUnsignedPayload);
    int64_t signed_at = 0;
    if (!ParseAmzDate(auth.amz_date, &signed_at)) {
      return Malformed(true,
                       "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    }
    if (signed_at - now > kMaxClockSkewSeconds) {
      return MakeS3Error(403, "AccessDenied", "Request is not valid yet");
    }
    if (now > signed_at + expiry) {
      return MakeS3Error(403, "AccessDenied", "Request has expired");
    }
  } else {
    const std::string* header = req.headers.Find("Authorization");
    if (header == nullptr) {
      return MakeS3Error(403, "AccessDenied",
                         "anonymous access is not supported: sign the request (SigV4)");
    }
    auto fields = SplitAuthorization(*header);
    if (auto* e = std::get_if<S3Error>(&fields)) return std::move(*e);
    const Pairs& f = std::get<Pairs>(fields);
    const std::string* cred = Find(f, "Credential");
    const std::string* headers = Find(f, "SignedHeaders");
    const std::string* signature = Find(f, "Signature");
    if (!cred || !headers || !signature) {
      return Malformed(false,
                       "the authorization header needs Credential, SignedHeaders and Signature");
    }
    credential = *cred;
    signed_headers = *headers;
    auth.signature = *signature;
    const std::string* date = req.headers.Find("X-Amz-Date");
    int64_t signed_at = 0;
    if (date == nullptr || !ParseAmzDate(*date, &signed_at)) {
      return MakeS3Error(403, "AccessDenied",
                         "AWS authentication requires a valid X-Amz-Date header");
    }
    auth.amz_date = *date;
    if (signed_at - now > kMaxClockSkewSeconds || now - signed_at > kMaxClockSkewSeconds) {
      return MakeS3Error(403, "RequestTimeTooSkewed",
                         "The difference between the request time and the server's time is too "
                         "large.");
    }
    const std::string* payload = req.headers.Find("X-Amz-Content-Sha256");
    if (payload == nullptr) {
      return MakeS3Error(400, "InvalidRequest",
                         "Missing required header for this request: x-amz-content-sha256");
    }
    // Every STREAMING-* kind parses; the caller refuses those it cannot read.
    if (*payload != kUnsignedPayload && !payload->starts_with("STREAMING-") &&
        !IsLowerHex(*payload, 64)) {
      return MakeS3Error(400, "InvalidArgument",
                         "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* marker or "
                         "a SHA-256 in hex");
    }
    auth.payload_hash = *payload;
  }

  auto scoped = ParseCredential(credential, auth.presigned, region, auth);
  if (auto* e = std::get_if<S3Error>(&scoped)) return std::move(*e);
  if (auth.amz_date.substr(0, 8) != auth.date) {
    return Malformed(auth.presigned, "the credential's date does not match X-Amz-Date");
  }
  if (!IsLowerHex(auth.signature, 64)) {
    return MakeS3Error(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you "
                       "provided.");
  }
  auth.signed_headers = Split(signed_headers, ';');
  const bool host_signed = std::find(auth.signed_headers.begin(), auth.signed_headers.end(),
                                     "host") != auth.signed_headers.end();
  if (signed_headers.empty() || !host_signed || signed_headers != AsciiLower(signed_headers)) {
    return Malformed(auth.presigned, "SignedHeaders must be lower-case names including host");
  }
  bool missing = false;
  auth.canonical_request =
      CanonicalRequest(req, auth.signed_headers, auth.payload_hash, auth.presigned, &missing);
  if (missing) {
    return MakeS3Error(403, "AccessDenied",
                       "a header named in SignedHeaders is not in the request");
  }
  auth.string_to_sign = StringToSign(
      auth.amz_date, auth.date + "/" + auth.region + "/" + auth.service + "/aws4_request",
      auth.canonical_request);
  return auth;
}

bool VerifySigV4(const SigV4Auth& auth, std::string_view secret_key) {
  const std::string key = SigningKey(secret_key, auth.date, auth.region, auth.service);
  const std::string want = HexOf(HmacSha256(key, auth.string_to_sign));
  return want.size() == auth.signature.size() &&
         sodium_memcmp(want.data(), auth.signature.data(), want.size()) == 0;
}

}  // namespace nexus::gateway::s3
