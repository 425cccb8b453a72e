// The subcommands of the qcert command line. Each registers its options on the
// app and returns the function that runs it; the functions only parse, call the
// library and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace qcert::cli {

using Runner = std::function<int()>;

Runner add_inspect(CLI::App& app);
Runner add_eval(CLI::App& app);
Runner add_verify(CLI::App& app);
Runner add_params(CLI::App& app);
Runner add_bound(CLI::App& app);
Runner add_sweep(CLI::App& app);
Runner add_synth(CLI::App& app);

}  // namespace qcert::cli
