// CSV of numbers: one sample per row.
//
// Cells are separated by a comma (with optional spaces around it) or by
// whitespace alone. Everything from '#' to the end of a line is a comment; blank
// lines are skipped. The first non-blank row is a header, and skipped, when none
// of its cells is a number. Every other cell must be a finite number.
#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qcert {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Splits a line (comment already removed, not blank) into its cells.
std::vector<std::string_view> split_cells(std::string_view line) {
    std::vector<std::string_view> cells;
    if (line.find(',') != std::string_view::npos) {
        size_t start = 0;
        for (;;) {
            size_t comma = line.find(',', start);
            cells.push_back(trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start)));
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
    } else {
        size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && is_space(line[i])) ++i;
            size_t j = i;
            while (j < line.size() && !is_space(line[j])) ++j;
            if (j > i) cells.push_back(line.substr(i, j - i));
            i = j;
        }
    }
    return cells;
}

// The number a cell holds, if it is exactly one finite number (a leading '+'
// and surrounding double quotes are allowed).
std::optional<double> parse_number(std::string_view cell) {
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"')
        cell = trim(cell.substr(1, cell.size() - 2));
    if (!cell.empty() && cell.front() == '+') {
        cell.remove_prefix(1);
        if (!cell.empty() && (cell.front() == '+' || cell.front() == '-')) return std::nullopt;
    }
    if (cell.empty()) return std::nullopt;
    double v = 0;
    auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
    if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::string quoted(std::string_view s) {
    constexpr size_t kMax = 40;
    std::string t(s.substr(0, kMax));
    if (s.size() > kMax) t += "...";
    return "'" + t + "'";
}

}  // namespace

Dataset read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open");

    Dataset d;
    d.source = path;
    d.float_scale = 1.0;
    d.integral = true;
    size_t width = 0;        // cells per row, once known
    size_t header_line = 0;  // line of the skipped header, 0 if none
    bool seen_row = false;
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
        std::string_view text = line;
        if (size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        text = trim(text);
        if (text.empty()) continue;
        auto cells = split_cells(text);
        const std::string at = "line " + std::to_string(lineno);

        if (!seen_row) {
            seen_row = true;
            bool any_number = false;
            for (auto c : cells) any_number = any_number || parse_number(c).has_value();
            if (!any_number) {  // a header row
                header_line = lineno;
                width = cells.size();
                continue;
            }
        }
        if (d.raw.empty() && header_line == 0) width = cells.size();
        if (cells.size() != width)
            throw InputError(path, at + ": " + std::to_string(cells.size()) + " values, but " +
                                       (d.raw.empty() ? "the header on line " + std::to_string(header_line) + " has "
                                                      : "earlier rows have ") +
                                       std::to_string(width));
        for (size_t c = 0; c < cells.size(); ++c) {
            auto v = parse_number(cells[c]);
            if (!v)
                throw InputError(path, at + ", column " + std::to_string(c + 1) + ": " +
                                           (cells[c].empty() ? std::string("empty cell")
                                                             : quoted(cells[c]) + " is not a finite number"));
            d.integral = d.integral && *v == std::floor(*v);
            d.raw.push_back(*v);
        }
    }
    if (in.bad()) throw InputError(path, "read error");
    if (d.raw.empty())
        throw InputError(path, header_line ? "no rows of numbers (line " + std::to_string(header_line) +
                                                 " was taken for a header)"
                                           : std::string("no rows of numbers"));
    d.sample_shape = {int64_t(width)};
    return d;
}

}  // namespace qcert
