# lit configuration for llmc's command-line and ISA tests.
import os
import shutil
import sys

import lit.formats

config.name = "llmc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".test", ".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test", "lit")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

config.environment["PATH"] = os.pathsep.join(
    [config.llmc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%llmc", os.path.join(config.llmc_tools_dir, "llmc")))
config.substitutions.append(("%examples", os.path.join(config.llmc_src_root, "examples")))
config.substitutions.append(("%testdata", os.path.join(config.llmc_src_root, "test", "data")))
if config.llmc_build_compiler:
    config.available_features.add("compiler")

# A CUDA toolkit's ptxas, where one is installed: the PTX check (scripts/ptxas-check.py) then
# assembles the GPU check suites here. Nothing else needs it.
ptxas = shutil.which("ptxas") or next(
    (p for p in (os.path.join(h, "bin", "ptxas") for h in (os.environ.get("CUDA_HOME"), "/usr/local/cuda") if h)
     if os.access(p, os.X_OK)), None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%{ptxas-check}", f"{sys.executable} {os.path.join(config.llmc_src_root, 'scripts', 'ptxas-check.py')} --ptxas {ptxas}"))
else:
    lit_config.note("no ptxas (CUDA toolkit): the PTX assembly check is unsupported here")
