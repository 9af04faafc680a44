#include "gateway/backends/download_frame.h"

#include "common/proto_wire.h"

namespace nexus::gateway {
namespace {

// DownloadResponse.data.
constexpr uint32_t kDataField = 2;

}  // namespace

std::optional<DataPayload> DownloadDataPayload(std::span<const std::string_view> pieces,
                                               size_t total) {
  std::optional<size_t> offset = proto_wire::SoleLenFieldPayload(pieces, total, kDataField);
  if (!offset) return std::nullopt;
  return DataPayload{*offset, total - *offset};
}

}  // namespace nexus::gateway
