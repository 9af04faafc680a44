#include "gateway/s3/payload_checksum.h"

#include <zlib.h>

#include <array>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "gateway/formats/base64.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway::s3 {
namespace {

struct Named {
  ChecksumAlgorithm algorithm;
  std::string_view header;
};

constexpr Named kNames[] = {
    {ChecksumAlgorithm::kCrc32, "x-amz-checksum-crc32"},
    {ChecksumAlgorithm::kCrc32c, "x-amz-checksum-crc32c"},
    {ChecksumAlgorithm::kCrc64Nvme, "x-amz-checksum-crc64nvme"},
    {ChecksumAlgorithm::kSha1, "x-amz-checksum-sha1"},
    {ChecksumAlgorithm::kSha256, "x-amz-checksum-sha256"},
};

// Byte-at-a-time table of a reflected CRC with polynomial `poly`.
template <typename T>
constexpr std::array<T, 256> ReflectedTable(T poly) {
  std::array<T, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    T crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    table[i] = crc;
  }
  return table;
}

// CRC-32C (Castagnoli) and CRC-64/NVME, both reflected. `crc` is the
// running value before the final inversion.
constexpr auto kCrc32cTable = ReflectedTable<uint32_t>(0x82F63B78u);
constexpr auto kCrc64NvmeTable = ReflectedTable<uint64_t>(0x9A6C9329AC4BC9B5ull);

template <typename T, size_t N>
T TableCrc(const std::array<T, N>& table, T crc, std::string_view bytes) {
  for (unsigned char c : bytes) crc = table[(crc ^ c) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// SSE 4.2 computes CRC-32C in hardware, 8 bytes an instruction.
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    __builtin_memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*p));
  return c32;
}
#endif

uint32_t Crc32cUpdate(uint32_t crc, std::string_view bytes) {
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  if (hardware) return Crc32cHardware(crc, bytes);
#endif
  return TableCrc(kCrc32cTable, crc, bytes);
}

template <typename T>
std::string BigEndianBase64(T value) {
  unsigned char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[i] = static_cast<unsigned char>(value >> (8 * (sizeof(T) - 1 - i)));
  }
  return EncodeBase64(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

std::string ChecksumHeaderName(ChecksumAlgorithm algorithm) {
  for (const Named& n : kNames) {
    if (n.algorithm == algorithm) return std::string(n.header);
  }
  return "";
}

std::optional<ChecksumAlgorithm> ChecksumAlgorithmOfHeader(std::string_view name) {
  for (const Named& n : kNames) {
    if (EqualsIgnoreCase(name, n.header)) return n.algorithm;
  }
  return std::nullopt;
}

PayloadChecksum::PayloadChecksum(ChecksumAlgorithm algorithm) : algorithm_(algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      crc_ = crc32(0L, Z_NULL, 0);
      break;
    case ChecksumAlgorithm::kCrc32c:
      crc_ = 0xFFFFFFFFu;
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc_ = ~0ull;
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      md_ = EVP_MD_CTX_new();
      if (md_) {
        EVP_DigestInit_ex(md_, algorithm == ChecksumAlgorithm::kSha1 ? EVP_sha1() : EVP_sha256(),
                          nullptr);
      }
      break;
  }
}

PayloadChecksum::~PayloadChecksum() { EVP_MD_CTX_free(md_); }

void PayloadChecksum::Update(std::string_view bytes) {
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      // zlib's length is a uInt: feed it in pieces below 4 GiB.
      while (!bytes.empty()) {
        const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
        crc_ = crc32(static_cast<uLong>(crc_), reinterpret_cast<const Bytef*>(bytes.data()),
                     static_cast<uInt>(n));
        bytes.remove_prefix(n);
      }
      break;
    case ChecksumAlgorithm::kCrc32c:
      crc_ = Crc32cUpdate(static_cast<uint32_t>(crc_), bytes);
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc_ = TableCrc(kCrc64NvmeTable, crc_, bytes);
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      if (md_) EVP_DigestUpdate(md_, bytes.data(), bytes.size());
      break;
  }
}

std::string PayloadChecksum::FinishBase64() {
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      return BigEndianBase64(static_cast<uint32_t>(crc_));
    case ChecksumAlgorithm::kCrc32c:
      return BigEndianBase64(static_cast<uint32_t>(crc_ ^ 0xFFFFFFFFu));
    case ChecksumAlgorithm::kCrc64Nvme:
      return BigEndianBase64(crc_ ^ ~0ull);
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256: {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (!md_ || EVP_DigestFinal_ex(md_, digest, &len) != 1) return "";
      return EncodeBase64(std::string_view(reinterpret_cast<const char*>(digest), len));
    }
  }
  return "";
}

bool SameChecksum(std::string_view claimed, std::string_view computed) {
  const std::optional<std::string> a = DecodeBase64Strict(claimed);
  return a && !a->empty() && a == DecodeBase64Strict(computed);
}

}  // namespace nexus::gateway::s3
