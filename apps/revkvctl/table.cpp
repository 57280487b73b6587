#include "apps/revkvctl/table.hpp"

#include <algorithm>
#include <cctype>

namespace revkv::ctl {
namespace {

// Display width: one column per UTF-8 rune (continuation bytes do not count).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& h : header)
    widths.push_back(width(h));
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));

  std::string border = "+";
  for (auto w : widths)
    border += std::string(w + 2, '-') + "+";
  border += "\n";

  std::string out = border + "|";
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string h = upper(header[i]);
    const std::size_t gap = widths[i] - width(h);
    out += " " + std::string(gap / 2, ' ') + h + std::string(gap - gap / 2, ' ') + " |";
  }
  out += "\n" + border;
  for (const auto& row : rows) {
    out += "|";
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += " " + std::string(widths[i] - width(cell), ' ') + cell + " |";
    }
    out += "\n";
  }
  return out + border;
}

}  // namespace revkv::ctl
