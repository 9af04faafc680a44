// Text placed in XML or HTML: element content and quoted attribute values.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::gateway {

// `text` with &, <, >, " and ' replaced by character references (' as
// &#39;, which both XML and HTML read). Other bytes pass unchanged.
std::string EscapeMarkup(std::string_view text);

}  // namespace nexus::gateway
