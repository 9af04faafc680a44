#include "gateway/dav/dav_folder_page.h"

#include "gateway/dav/dav_path.h"
#include "gateway/dav/dav_props.h"
#include "gateway/formats/markup_escape.h"

namespace nexus::gateway::dav {

std::string FolderPage(std::string_view prefix, std::string_view tree_path,
                       const std::vector<daemonpb::DirEntry>& entries) {
  const std::string title = "Index of " + EscapeMarkup(tree_path);
  std::string page =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>" +
      title + "</title></head>\n<body><h1>" + title + "</h1>\n<table>\n" +
      "<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n";
  if (tree_path != "/") {
    const size_t slash = tree_path.rfind('/');
    const std::string_view parent = slash == 0 ? "/" : tree_path.substr(0, slash);
    page += "<tr><td><a href=\"" + HrefOf(prefix, parent, true) +
            "\">../</a></td><td></td><td></td></tr>\n";
  }
  for (const daemonpb::DirEntry& e : entries) {
    const bool folder = e.type() == "folder";
    const std::string href = HrefOf(prefix, ChildPath(tree_path, e.name()), folder);
    page += "<tr><td><a href=\"" + EscapeMarkup(href) + "\">" + EscapeMarkup(e.name()) +
            (folder ? "/" : "") + "</a></td><td>" + (folder ? "" : std::to_string(e.size())) +
            "</td><td>" + HttpDate(e.modified()) + "</td></tr>\n";
  }
  page += "</table>\n</body></html>\n";
  return page;
}

}  // namespace nexus::gateway::dav
