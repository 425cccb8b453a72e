// qcert sweep MODEL (--images IDX --labels IDX | --inputs CSV --labels CSV) [--bits LO:HI]
//             [--schemes fixed,aaai2021,qebverif] [--samples A:B] [--eps E,...] [--timeout SEC]
//             [--bound-radius R] [--bound-samples N] [--bound-splits N] [--bound-timeout SEC] [--no-bound]
//             [--synth] [--synth-timeout SEC] [--report DIR] [--json]
// How many bits does it take: accuracy, robustness, error bound and parameter robustness
// per bit-width (and for the synthesized per-layer strategy with --synth), results in DIR/results.jsonl (resumable) and DIR/results.csv, the report
// in DIR/report.html and DIR/report.md.
#include "commands.hpp"
#include "data_options.hpp"
#include "qcert/result_log.hpp"
#include "qcert/sweep.hpp"
#include "qcert/sweep_report.hpp"
#include "io/atomic_file.hpp"
#include "run/mpi_world.hpp"
#include "sample_list.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace qcert::cli {

namespace {

struct SweepCli {
    std::string model, bits = "2:8", schemes = "aaai2021", samples, eps, methods, report = "sweep-report", inputs;
    double prune = 0, timeout = 10, params_timeout = 10, bound_timeout = 10, synth_timeout = 10;
    int64_t params_max = 1000, limit = -1, max_queries = -1, bound_radius = -1, bound_splits = 20, bound_samples = -1;
    unsigned jobs = 0;
    bool json = false, no_bound = false, synth = false;
    DataOptions data;
};

int parse_bit(const std::string& s) {
    try {
        size_t used = 0;
        const int v = std::stoi(s, &used);
        if (used == s.size()) return v;
    } catch (const std::logic_error&) {
    }
    throw InputError("--bits", "'" + s + "' is not an integer (expected LO:HI or B)");
}

// "LO:HI" (both included) or "B".
std::pair<int, int> parse_bits(const std::string& spec) {
    const size_t colon = spec.find(':');
    if (colon == std::string::npos) {
        const int b = parse_bit(spec);
        return {b, b};
    }
    return {parse_bit(spec.substr(0, colon)), parse_bit(spec.substr(colon + 1))};
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string p; std::getline(ss, p, ',');)
        if (!p.empty()) out.push_back(p);
    return out;
}

// IDX images and labels, or CSV inputs (one sample per row) with CSV labels (one per row).
Dataset load_data(const SweepCli& o) {
    if (!o.inputs.empty()) {
        if (!o.data.images.empty()) throw InputError("--inputs", "give --inputs CSV or --images IDX, not both");
        if (o.data.labels.empty()) throw InputError("--labels", "give the labels of --inputs (CSV, one per row)");
        Dataset d = read_csv(o.inputs);
        const Dataset labels = read_csv(o.data.labels);
        if (labels.sample_size() != 1 || labels.count() != d.count())
            throw InputError(o.data.labels, fmt::format("needs one label per row of {} ({} rows), found {} rows of {} values",
                                                        o.inputs, d.count(), labels.count(), labels.sample_size()));
        for (double v : labels.raw) {
            if (v != std::floor(v) || v < 0) throw InputError(o.data.labels, fmt::format("label {} is not a class index", v));
            d.labels.push_back(int(v));
        }
        return d;
    }
    std::optional<Dataset> d = o.data.load();
    if (!d) throw InputError("sweep", "give the data: --images IDX --labels IDX, or --inputs CSV --labels CSV");
    return *d;
}

std::string point_line(const SweepPoint& p, const SweepOptions& so) {
    std::string s = fmt::format("{:<12}", p.scheme);
    if (!p.layer_bits.empty())
        s = fmt::format("synth {} (per-layer bits, total {}; {} / {} properties kept)\n{:<12}", p.scheme, p.total_bits(),
                        p.synth_proved, p.synth_kept, "");
    if (!p.unavailable.empty()) return s + "  no scheme: " + p.unavailable;
    s += p.accuracy ? fmt::format("  accuracy {:6.2f} %", p.accuracy->percent()) : "  accuracy    -   ";
    for (int64_t e : so.eps) {
        auto it = p.robustness.find(e);
        if (it == p.robustness.end()) continue;
        const VerdictCounts& c = it->second;
        s += fmt::format("  eps {}: holds {} violated {} unknown {} misclassified {}", e, c.holds, c.violated, c.unknown,
                         c.misclassified);
    }
    if (p.bound) s += fmt::format("  bound {:.3g} <= max|g-f| <= {:.3g}", p.bound->lower, p.bound->upper);
    if (p.params)
        s += fmt::format("  params: fixed {} can change {} undecided {}", p.params->class_fixed, p.params->class_can_change,
                         p.params->undecided);
    if (!p.robustness_note.empty() && !so.eps.empty()) s += "  (robustness: " + p.robustness_note + ")";
    return s;
}

std::filesystem::path make_report_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir, "cannot create the report directory: " + ec.message());
    return dir;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The CSV, the report, and what the terminal shows.
int finish_sweep(const SweepCli& o, const SweepOptions& so, const SweepResult& r, const Dataset& data) {
    const std::filesystem::path dir = o.report;
    write_sweep_csv(so.results_path, (dir / "results.csv").string());
    const std::string html = write_sweep_report(r, data, dir.string());
    if (o.json) {
        std::cout << nlohmann::json{{"kind", "summary"}, {"queries", r.queries}, {"decided_now", r.decided_now},
                                    {"reused", r.reused}, {"missing", r.missing}, {"non_monotone", r.non_monotone.size()},
                                    {"report", html}, {"time_s", r.time_s}}
                         .dump()
                  << std::endl;
        return 0;
    }
    std::cout << fmt::format("float        accuracy {:6.2f} % ({} / {})\n", r.float_accuracy.percent(), r.float_accuracy.correct,
                             r.float_accuracy.total);
    for (const SweepPoint& p : r.points) std::cout << point_line(p, so) << "\n";
    if (!r.params_note.empty() && !so.samples.empty()) std::cout << "parameter robustness: " << r.params_note << "\n";
    if (!r.synth_note.empty()) std::cout << "synth: " << r.synth_note << "\n";
    std::cout << fmt::format("non-monotone samples: {}\n", r.non_monotone.size());
    for (const NonMonotone& n : r.non_monotone)
        std::cout << fmt::format("  {} sample {} eps {}: holds at {} bits, {} at {} bits\n", n.family, n.sample, n.eps,
                                 n.robust_bits, verdict_name(n.failing_verdict), n.failing_bits);
    std::cout << fmt::format("queries {}: {} decided now, {} from {}, {} missing; {:.1f} s\n", r.queries, r.decided_now,
                             r.reused, so.results_path, r.missing, r.time_s);
    std::cout << "report: " << html << "\n";
    return 0;
}

// The files of the ranks of a distributed run that was killed before it merged them.
void merge_leftover_rank_files(const std::filesystem::path& dir) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("results.rank-", 0) != 0 || e.path().extension() != ".jsonl") continue;
        merge_sweep_records((dir / "results.jsonl").string(), slurp(e.path()));
        std::filesystem::remove(e.path());
    }
}

int run_alone(const SweepCli& o, SweepOptions so, const Dataset& data) {
    const std::filesystem::path dir = make_report_dir(o.report);
    merge_leftover_rank_files(dir);
    so.results_path = (dir / "results.jsonl").string();
    std::unique_ptr<Progress> progress;  // made at the first record, when the number of queries is known
    so.on_record = [&](const nlohmann::json& j, int64_t done, int64_t total) {
        if (o.json) std::cout << j.dump() << std::endl;
        if (!progress) progress = std::make_unique<Progress>("sweep", total);
        progress->update(done, "last: " + j.value("key", ""));
    };
    const SweepResult r = run_sweep(so, data);
    progress.reset();
    return finish_sweep(o, so, r, data);
}

// Under mpirun: query k is decided by rank k mod N. Rank 0 appends its answers to
// DIR/results.jsonl, every other rank to DIR/results.rank-R.jsonl (started from what
// results.jsonl already held); at the end rank 0 merges them in and writes the report.
// Files a killed run left behind are merged first.
int run_distributed(const SweepCli& o, SweepOptions so, const Dataset& data) {
    const mpi::World& w = mpi::world();
    const std::filesystem::path dir = make_report_dir(o.report), main_results = dir / "results.jsonl";
    auto rank_file = [&](int r) { return dir / fmt::format("results.rank-{}.jsonl", r); };
    int64_t synth_decided = 0;
    if (w.rank == 0) {
        merge_leftover_rank_files(dir);
        if (so.synth) {  // the synthesis first, on rank 0: every rank needs its bits to plan the synth point's queries
            SweepOptions synth_only = so;
            synth_only.results_path = main_results.string();
            synth_only.max_new_queries = 1;  // query 0 is the synthesis
            try {
                synth_decided = run_sweep(synth_only, data).decided_now;
            } catch (const InputError& e) {  // the other ranks wait at the barrier: end them too
                std::fprintf(stderr, "qcert: error: %s\n", e.what());
                mpi::abort_all(2);
            }
        }
    }
    mpi::barrier();
    const std::string known = mpi::broadcast(w.rank == 0 && std::filesystem::exists(main_results) ? slurp(main_results) : "");
    const std::filesystem::path mine = w.rank == 0 ? main_results : rank_file(w.rank);
    if (w.rank != 0) write_file_atomically(mine.string(), known);
    SweepOptions part = so;
    part.results_path = mine.string();
    part.shard_index = w.rank;
    part.shard_count = w.size;
    std::unique_ptr<Progress> progress;
    if (w.rank == 0)
        part.on_record = [&](const nlohmann::json& j, int64_t done, int64_t total) {
            if (!progress) progress = std::make_unique<Progress>(fmt::format("sweep (rank 0 of {}: its own queries and those decided before)", w.size), total);
            progress->update(done, "last: " + j.value("key", ""));
        };
    const SweepResult mine_done = run_sweep(part, data);
    progress.reset();
    const long long decided = mpi::sum(mine_done.decided_now);
    const std::vector<std::string> texts = mpi::gather(w.rank == 0 ? std::string() : slurp(mine));
    if (w.rank == 0)
        for (size_t r = 1; r < texts.size(); ++r) merge_sweep_records(main_results.string(), texts[r]);
    mpi::barrier();
    if (w.rank != 0) {
        std::filesystem::remove(mine);
        return 0;
    }
    // Sum up from the merged records, deciding nothing more.
    SweepOptions all = so;
    all.results_path = main_results.string();
    all.max_new_queries = 0;
    if (o.json) all.on_record = [](const nlohmann::json& j, int64_t, int64_t) { std::cout << j.dump() << std::endl; };
    SweepResult r = run_sweep(all, data);
    r.decided_now = decided + synth_decided;
    r.reused = mine_done.reused - synth_decided;  // the synthesis rank 0 decided first is no reuse
    r.time_s = mine_done.time_s + r.time_s;
    return finish_sweep(o, all, r, data);
}

}  // namespace

Runner add_sweep(CLI::App& app) {
    auto o = std::make_shared<SweepCli>();
    CLI::App* cmd = app.add_subcommand("sweep", "how many bits does it take: accuracy and robustness for each bit-width, with a report");
    cmd->add_option("model", o->model, "model file (.onnx, .nnet, .h5)")->required();
    o->data.add(cmd);
    cmd->add_option("--inputs", o->inputs, "CSV data, one sample per row (with --labels CSV, one class per row)")->check(CLI::ExistingFile);
    cmd->add_option("--bits", o->bits, "bit-widths LO:HI, both included, or B (default 2:8)");
    cmd->add_option("--schemes", o->schemes, "scheme families, comma list: fixed (fixed:B), aaai2021 (aaai2021:B), qebverif (qebverif:B); default aaai2021");
    cmd->add_option("--samples", o->samples, "samples for robustness and parameter robustness: A:B (A <= i < B), N, or a comma list");
    cmd->add_option("--eps", o->eps, "L-inf radii in integer input units (pixels), comma list");
    cmd->add_option("--timeout", o->timeout, "seconds per robustness query (default 10)");
    cmd->add_option("--method", o->methods, "comma list of verification methods, in order (default: the portfolio)");
    cmd->add_option("--params-max", o->params_max, "parameter robustness only for networks with at most this many parameters (default 1000; 0: never)");
    cmd->add_option("--params-timeout", o->params_timeout, "seconds per parameter-robustness analysis (default 10)");
    cmd->add_option("--bound-radius", o->bound_radius, "error bound over the L-inf balls of this radius (pixels) around the samples (default: the largest --eps, 0 without)");
    cmd->add_option("--bound-samples", o->bound_samples, "error bound over the balls of the first N of --samples only (default: all)");
    cmd->add_option("--bound-splits", o->bound_splits, "input splits per error-bound query (default 20)");
    cmd->add_option("--bound-timeout", o->bound_timeout, "seconds per error-bound query (default 10)");
    cmd->add_flag("--no-bound", o->no_bound, "no error bounds");
    cmd->add_flag("--synth", o->synth, "also the synthesized per-layer strategy (qcert synth over --samples and --eps) as a point");
    cmd->add_option("--synth-timeout", o->synth_timeout, "with --synth: seconds per property and candidate (default 10)");
    cmd->add_option("--limit", o->limit, "accuracy on the first N samples only (default: all)");
    cmd->add_option("--prune", o->prune, "prune this fraction of each layer's smallest weights first");
    cmd->add_option("--jobs", o->jobs, "queries decided in parallel (default: one per core)");
    cmd->add_option("--max-queries", o->max_queries, "decide at most N new queries, then stop (a re-run goes on)");
    cmd->add_option("--report", o->report, "directory for results.jsonl, results.csv, report.html, report.md (default sweep-report)");
    cmd->add_flag("--json", o->json, "print every record as a JSON line");
    return [o] {
        SweepOptions so;
        so.model = o->model;
        so.prune = o->prune;
        std::tie(so.bits_lo, so.bits_hi) = parse_bits(o->bits);
        so.families = split_list(o->schemes);
        for (const std::string& f : so.families) sweep_scheme(f, so.bits_lo);
        if (!o->samples.empty()) so.samples = parse_index_list(o->samples, "--samples");
        if (!o->eps.empty()) so.eps = parse_index_list(o->eps, "--eps");
        if (!so.eps.empty() && so.samples.empty()) throw InputError("--eps", "needs --samples (which samples to verify)");
        so.accuracy_limit = o->limit;
        so.verify.timeout_s = o->timeout;
        so.verify.methods = split_list(o->methods);
        for (const std::string& m : so.verify.methods) make_method(m);
        so.params_max_parameters = o->params_max;
        so.params_timeout_s = o->params_timeout;
        if (!(o->params_timeout > 0)) throw InputError("--params-timeout", "must be > 0");
        so.bound = !o->no_bound;
        so.bound_radius = o->bound_radius;
        so.bound_max_splits = o->bound_splits;
        so.bound_samples = o->bound_samples;
        so.bound_timeout_s = o->bound_timeout;
        so.synth = o->synth;
        so.synth_timeout_s = o->synth_timeout;
        so.jobs = o->jobs;
        so.max_new_queries = o->max_queries;
        const Dataset data = load_data(*o);
        check_sweep_options(so, data);
        return mpi::world().distributed() ? run_distributed(*o, so, data) : run_alone(*o, so, data);
    };
}

}  // namespace qcert::cli
