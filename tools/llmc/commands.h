// The verbs of the llmc command line. Each registers its options on a CLI11 subcommand and runs
// when that subcommand was given; run functions return the process exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace llmc::cli {

// Exit codes shared by all verbs (documented in docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // bad input file, I/O failure
inline constexpr int kExitUsage = 2;  // bad command line
inline constexpr int kExitNoFit = 3;  // llmc plan: the model does not fit on the devices

// `exit_code` receives the verb's exit status when it runs.
void register_inspect(CLI::App& app, int& exit_code);
void register_generate(CLI::App& app, int& exit_code);
void register_plan(CLI::App& app, int& exit_code);  // plan and devices
void register_calibrate(CLI::App& app, int& exit_code);
void register_run(CLI::App& app, int& exit_code);
void register_tokenize(CLI::App& app, int& exit_code);
void register_bench(CLI::App& app, int& exit_code);
void register_kernel_check(CLI::App& app, int& exit_code);
void register_tune(CLI::App& app, int& exit_code);
#ifdef LLMC_HAVE_COMPILER
void register_build(CLI::App& app, int& exit_code);
// Builds the kernel-check suite for `chip` into the bundle `output` (llmc build --check-suite).
int build_check_suite(const std::string& chip, const std::vector<std::string>& quants, bool perf,
                      const std::string& output);
#endif

// True when stderr is a terminal: progress is shown there and nowhere else.
bool stderr_is_terminal();

}  // namespace llmc::cli
