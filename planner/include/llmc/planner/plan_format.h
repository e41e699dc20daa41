// Plans as people and programs read them: a table, JSON (schema llmc.plan/1, docs/plan-format.md),
// and the equivalent llama.cpp and Ollama settings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmc/planner/plan.h"

namespace llmc::planner {

nlohmann::json plan_to_json(const Plan& p);
std::string plan_to_table(const Plan& p);

// llama-server / llama-cli arguments reproducing the plan (device order, -ngl, -sm, -ts, -c, -ctk,
// -ctv, -fa, -ub, -np), as separate words.
std::vector<std::string> llama_cpp_args(const Plan& p);
std::string llama_cpp_command(const Plan& p);
// Ollama settings: environment variables and Modelfile/API options.
std::string ollama_settings(const Plan& p);

}  // namespace llmc::planner
