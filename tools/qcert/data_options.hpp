// Options shared by the subcommands that read labelled data.
#pragma once

#include "qcert/error.hpp"
#include "qcert/io.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace qcert::cli {

struct DataOptions {
    std::string images, labels;

    void add(CLI::App* cmd) {
        cmd->add_option("--images", images, "IDX images (MNIST format, .gz or not)")->check(CLI::ExistingFile);
        cmd->add_option("--labels", labels, "IDX labels matching --images")->check(CLI::ExistingFile);
    }
    // The data, or nothing when no --images was given; InputError on a half-given pair.
    std::optional<Dataset> load() const {
        if (images.empty() && labels.empty()) return std::nullopt;
        if (images.empty() || labels.empty()) throw InputError("--images/--labels", "give both, or neither");
        return read_idx(images, labels);
    }
};

}  // namespace qcert::cli
