// qcert: prove, or refute with a concrete input, what quantization and pruning
// do to a neural network. Exit codes: 0 done, 2 bad input, 1 internal error.
#include "commands.hpp"
#include "qcert/error.hpp"
#include "run/mpi_world.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <map>

namespace {

// Under mpirun every rank runs this program; rank 0 speaks for the run.
int finish(int code) {
    qcert::mpi::finish();
    return code;
}

bool speaks() { return qcert::mpi::world().rank == 0; }

}  // namespace

int main(int argc, char** argv) {
    qcert::mpi::start(&argc, &argv);
    CLI::App app{"qcert: bit-exact verification of quantized and pruned neural networks"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "qcert 0.1.0");
    std::map<CLI::App*, qcert::cli::Runner> runners;
    auto add = [&](qcert::cli::Runner (*f)(CLI::App&)) {
        const size_t before = app.get_subcommands({}).size();
        qcert::cli::Runner r = f(app);
        runners[app.get_subcommands({})[before]] = r;
    };
    add(qcert::cli::add_inspect);
    add(qcert::cli::add_eval);
    add(qcert::cli::add_verify);
    add(qcert::cli::add_params);
    add(qcert::cli::add_bound);
    add(qcert::cli::add_sweep);
    add(qcert::cli::add_synth);
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known = known || (argc > 1 && sub->get_name() == argv[1]);
    }
    if (argc > 1 && argv[1][0] != '-' && !known) {
        if (speaks()) std::fprintf(stderr, "qcert: error: unknown command '%s' (commands: %s)\n", argv[1], names.c_str());
        return finish(2);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return finish(app.exit(e));
    } catch (const CLI::CallForAllHelp& e) {
        return finish(app.exit(e));
    } catch (const CLI::CallForVersion& e) {
        return finish(app.exit(e));
    } catch (const CLI::ParseError& e) {
        if (speaks()) std::fprintf(stderr, "qcert: error: %s\n", e.what());
        return finish(2);
    }
    try {
        for (auto& [sub, run] : runners)
            if (sub->parsed()) return finish(run());
    } catch (const qcert::InputError& e) {
        // Bad input is found by every rank alike, before they talk to each other.
        std::fflush(stdout);
        if (speaks()) std::fprintf(stderr, "qcert: error: %s\n", e.what());
        return finish(2);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "qcert: internal error: %s\n", e.what());
        if (qcert::mpi::world().distributed()) qcert::mpi::abort_all(1);  // the other ranks may be waiting for this one
        return finish(1);
    }
    return finish(1);
}
