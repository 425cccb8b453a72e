// qcert: prove, or refute with a concrete input, what quantization and pruning
// do to a neural network. Exit codes: 0 done, 2 bad input, 1 internal error.
#include "commands.hpp"
#include "qcert/error.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <map>

int main(int argc, char** argv) {
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
    add(qcert::cli::add_sweep);
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known = known || (argc > 1 && sub->get_name() == argv[1]);
    }
    if (argc > 1 && argv[1][0] != '-' && !known) {
        std::fprintf(stderr, "qcert: error: unknown command '%s' (commands: %s)\n", argv[1], names.c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "qcert: error: %s\n", e.what());
        return 2;
    }
    try {
        for (auto& [sub, run] : runners)
            if (sub->parsed()) return run();
    } catch (const qcert::InputError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "qcert: error: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "qcert: internal error: %s\n", e.what());
        return 1;
    }
    return 1;
}
