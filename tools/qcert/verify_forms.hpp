// The options of `qcert verify` and its forms (robustness over data in cmd_verify.cpp;
// VNN-LIB and input boxes, with fairness, in cmd_verify_box.cpp).
#pragma once

#include "data_options.hpp"
#include "qcert/verify.hpp"

#include <CLI/CLI.hpp>
#include <sstream>
#include <string>

namespace qcert::cli {

struct VerifyCli {
    std::string model, scheme, prune_mask, samples, eps, methods, out, vnnlib, cex, box, sensitive;
    double prune = 0, timeout = 60, delta = 0;
    int64_t max_eps = 0;
    unsigned jobs = 0;
    bool json = false, max_radius = false;
    DataOptions data;

    void add(CLI::App* cmd) {
        cmd->add_option("model", model, "model file (.onnx, .nnet, .h5)")->required();
        cmd->add_option("--scheme", scheme, "quantization scheme with an integer semantics (aaai2021:Q, qebverif:Q, fixed:..., JSON)");
        cmd->add_option("--prune", prune, "prune this fraction of each layer's smallest weights first");
        cmd->add_option("--prune-mask", prune_mask, "prune the weights a JSON mask marks 0: {\"layers\": [[[1,0,...],...],...]}, one matrix per layer");
        data.add(cmd);
        cmd->add_option("--samples", samples, "data samples: A:B (A <= i < B), N, or a comma list");
        cmd->add_option("--eps", eps, "L-inf radius in integer input units (pixels); a comma list runs each");
        cmd->add_flag("--max-radius", max_radius, "find each sample's largest robust radius instead");
        cmd->add_option("--max-eps", max_eps, "cap for --max-radius (default: the input range)");
        cmd->add_option("--vnnlib", vnnlib, "a VNN-LIB property (inputs in the float network's units)");
        cmd->add_option("--cex", cex, "with --vnnlib: write the result in the VNN-COMP format to this file");
        cmd->add_option("--box", box, "an input box LO:HI,LO:HI,... (float units), for --fairness");
        cmd->add_option("--sensitive", sensitive, "fairness: the sensitive input indices, e.g. 8 or 8,9");
        cmd->add_option("--delta", delta, "fairness: the largest allowed output difference (real units)");
        cmd->add_option("--timeout", timeout, "seconds per query (default 60)");
        cmd->add_option("--method", methods, "comma list of methods, in order (interval, symbolic, attack, bab, milp, milp-relax, milp-obbt, cvc5, z3, boolector; default interval,symbolic,attack,milp-relax,bab)");
        cmd->add_option("--jobs", jobs, "queries decided in parallel (default: one per core)");
        cmd->add_option("--out", out, "append results as JSON lines; a re-run skips the decided ones");
        cmd->add_flag("--json", json, "print JSON lines");
    }

    VerifyOptions verify_options() const {
        VerifyOptions v;
        v.timeout_s = timeout;
        if (!(timeout > 0)) throw InputError("--timeout", "must be > 0");
        std::stringstream ss(methods);
        for (std::string m; std::getline(ss, m, ',');)
            if (!m.empty()) v.methods.push_back(m);
        for (const std::string& m : v.methods) make_method(m);  // unknown names fail now, not mid-run
        return v;
    }
};

int run_vnnlib(const VerifyCli& o, const Subject& s);
int run_box(const VerifyCli& o, const Subject& s);

}  // namespace qcert::cli
