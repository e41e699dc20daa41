#include <cstdio>
#include <exception>

#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"
#include "llmc/gguf.h"

int main(int argc, char** argv) {
  CLI::App app{"llmc: plan, compile and run GGUF language models on the GPUs people own", "llmc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "llmc 0.1.0");
  int exit_code = llmc::cli::kExitOk;
  llmc::cli::register_inspect(app, exit_code);
  llmc::cli::register_generate(app, exit_code);
  llmc::cli::register_plan(app, exit_code);
  llmc::cli::register_calibrate(app, exit_code);
  llmc::cli::register_run(app, exit_code);
  llmc::cli::register_tokenize(app, exit_code);
  llmc::cli::register_bench(app, exit_code);
  llmc::cli::register_kernel_check(app, exit_code);
  llmc::cli::register_tune(app, exit_code);
#ifdef LLMC_HAVE_COMPILER
  llmc::cli::register_build(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "llmc: error: {}\n", e.what());
    return llmc::cli::kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "llmc: error: {}\n", e.what());
    return llmc::cli::kExitError;
  }
  return exit_code;
}

bool llmc::cli::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }
