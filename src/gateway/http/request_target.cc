#include "gateway/http/request_target.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <string>

namespace nexus::gateway {

Status ParseRequestTarget(std::string_view target, Request& req) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return InvalidArgumentError("malformed request target");
  const boost::urls::url_view& url = *parsed;

  req.target.assign(target);
  req.path.assign(url.encoded_path().data(), url.encoded_path().size());
  req.segments.clear();
  for (std::string seg : url.segments()) req.segments.push_back(std::move(seg));
  req.query.clear();
  if (url.has_query()) {
    for (auto param : url.params()) req.query.emplace_back(param.key, param.value);
  }
  return Status::Ok();
}

}  // namespace nexus::gateway
