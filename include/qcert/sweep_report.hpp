// The sweep's report: one self-contained HTML page (inline SVG plots: accuracy
// against bits, robustness counts against bits, the per-sample verdict grid, the
// samples whose robustness is not monotone in the bits with their images) and the
// same tables in Markdown.
//
//   qcert::SweepResult r = qcert::run_sweep(options, data);
//   qcert::write_sweep_report(r, data, "out");   // out/report.html, out/report.md
#pragma once

#include "qcert/sweep.hpp"

#include <string>

namespace qcert {

std::string sweep_report_html(const SweepResult& r, const Dataset& data);
std::string sweep_report_markdown(const SweepResult& r);

// Writes DIR/report.html and DIR/report.md (each through a temporary file and a
// rename), creating DIR if needed; returns the path of the HTML page.
std::string write_sweep_report(const SweepResult& r, const Dataset& data, const std::string& dir);

}  // namespace qcert
