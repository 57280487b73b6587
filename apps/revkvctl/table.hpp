#pragma once

// etcdctl's `-w table`: the tables of olekukonko/tablewriter as etcdctl configures them —
// headers upper-cased and centred (the odd space on the right), cells right-aligned,
// `+---+` borders, one space of padding on each side of a cell.
//
// tablewriter wraps a cell longer than 30 characters at its spaces; etcdctl's cells here
// (endpoints, ids, URLs joined by ',', numbers) hold no spaces, so no wrapping is done.

#include <string>
#include <vector>

namespace revkv::ctl {

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace revkv::ctl
