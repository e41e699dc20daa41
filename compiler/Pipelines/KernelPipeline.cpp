#include "llmc/compiler/KernelPipeline.h"

#include <filesystem>
#include <fstream>

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVM/ROCDL/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/ROCDL/ROCDLToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "../Conversion/ElementwiseEmitter.h"
#include "../Conversion/QMatVecEmitter.h"
#include "ObjectEmitter.h"
#include "llmc/IR/LLMCDialect.h"
#include "llmc/IR/LLMCOps.h"
#include "llmc/compiler/Passes.h"

namespace llmc::compiler {

namespace {

struct KernelPipelineOptions : public mlir::PassPipelineOptions<KernelPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("Chip to compile for (sm_61, gfx906, ...)"),
                           llvm::cl::init("sm_61")};
  Option<bool> int8Dot{*this, "int8-dot", llvm::cl::desc("Use the chip's int8 dot-4 instruction"),
                       llvm::cl::init(true)};
};

std::string captureDiagnostics(mlir::MLIRContext& context, const std::function<bool()>& body, bool* ok) {
  std::string messages;
  llvm::raw_string_ostream stream(messages);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic& diagnostic) {
    stream << diagnostic << "\n";
    return mlir::success();
  });
  *ok = body();
  return messages;
}

// The op's layout attribute: absent for the file's blocks, so that such ops print as before.
mlir::llmc::WeightLayoutAttr layoutAttr(mlir::MLIRContext& context, mlir::llmc::WeightLayout layout) {
  if (layout == mlir::llmc::WeightLayout::Blocks) return {};
  return mlir::llmc::WeightLayoutAttr::get(&context, layout);
}

// The host function whose llmc.qmatvec the lowering turns into the plan's kernel(s).
mlir::OwningOpRef<mlir::ModuleOp> buildQMatVecModule(mlir::MLIRContext& context, const QMatVecPlan& plan) {
  mlir::OpBuilder b(&context);
  mlir::Location loc = mlir::NameLoc::get(b.getStringAttr(plan.kernelName));
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto w = mlir::MemRefType::get({plan.weightBytes}, b.getI8Type());
  auto x = mlir::MemRefType::get({plan.batch, plan.cols}, b.getF32Type());
  auto y = mlir::MemRefType::get({plan.batch, plan.rows}, b.getF32Type());
  auto func = mlir::func::FuncOp::create(b, loc, "llmc_host", b.getFunctionType({w, x, y}, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto tuning = mlir::llmc::TuningAttr::get(&context, plan.tuning.rowsPerBlock, plan.tuning.warps,
                                            plan.tuning.vectorWidth, plan.tuning.unroll, plan.tuning.groupWarps,
                                            plan.tuning.prefetch, plan.tuning.rowSteps,
                                            plan.tuning.minBlocks);
  mlir::llmc::QMatVecOp::create(b, loc, func.getArgument(0), func.getArgument(1), func.getArgument(2),
                                mlir::llmc::QuantTypeAttr::get(&context, plan.quant), b.getI64IntegerAttr(plan.rows),
                                b.getI64IntegerAttr(plan.cols), tuning, layoutAttr(context, plan.layout));
  mlir::func::ReturnOp::create(b, loc);
  return module;
}

// The host function whose llmc.qmatmul the lowering turns into the plan's kernel: x and y with a
// dynamic token count, as a prefill step passes them.
mlir::OwningOpRef<mlir::ModuleOp> buildQMatMulModule(mlir::MLIRContext& context, const QMatMulPlan& plan) {
  mlir::OpBuilder b(&context);
  mlir::Location loc = mlir::NameLoc::get(b.getStringAttr(plan.kernelName));
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto w = mlir::MemRefType::get({plan.weightBytes}, b.getI8Type());
  auto x = mlir::MemRefType::get({mlir::ShapedType::kDynamic, plan.cols}, b.getF32Type());
  auto y = mlir::MemRefType::get({mlir::ShapedType::kDynamic, plan.rows}, b.getF32Type());
  auto func = mlir::func::FuncOp::create(b, loc, "llmc_host", b.getFunctionType({w, x, y}, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto tuning = mlir::llmc::TuningAttr::get(&context, plan.tuning.rowsPerBlock, plan.tuning.warps,
                                            plan.tuning.vectorWidth, plan.tuning.unroll, 0, 0, 1, 0);
  mlir::llmc::QMatMulOp::create(b, loc, func.getArgument(0), func.getArgument(1), func.getArgument(2),
                                mlir::llmc::QuantTypeAttr::get(&context, plan.quant), b.getI64IntegerAttr(plan.rows),
                                b.getI64IntegerAttr(plan.cols), tuning, layoutAttr(context, plan.layout));
  mlir::func::ReturnOp::create(b, loc);
  return module;
}

// The host function whose op the elementwise lowering turns into the plan's kernel. Operand
// types are the op's own (a quantized cache is [positions, row bytes], a position an index).
mlir::OwningOpRef<mlir::ModuleOp> buildOpModule(mlir::MLIRContext& context, const OpPlan& plan) {
  mlir::OpBuilder b(&context);
  mlir::Location loc = mlir::NameLoc::get(b.getStringAttr(plan.kernelName));
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  const OpSpec& spec = plan.spec;
  llvm::SmallVector<mlir::Type> types = opKernelParamTypes(&context, plan);
  if (spec.kind == OpKind::KvStore) {
    if (spec.cache != mlir::llmc::KvCacheType::F16)
      types[1] = mlir::MemRefType::get({spec.contextLength, plan.cacheRowBytes}, b.getI8Type());
    types[2] = b.getIndexType();
  }
  if (spec.kind == OpKind::Attention) types[3] = b.getIndexType();
  auto func = mlir::func::FuncOp::create(b, loc, "llmc_host", b.getFunctionType(types, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto arg = [&](unsigned i) { return func.getArgument(i); };
  switch (spec.kind) {
    case OpKind::RmsNorm:
      mlir::llmc::RmsNormOp::create(b, loc, arg(0), arg(1), arg(2), spec.quantize ? arg(3) : mlir::Value(),
                                    b.getF32FloatAttr(spec.eps));
      break;
    case OpKind::Add: mlir::llmc::AddOp::create(b, loc, arg(0), arg(1), arg(2)); break;
    case OpKind::Mul: mlir::llmc::MulOp::create(b, loc, arg(0), arg(1), arg(2)); break;
    case OpKind::SwiGlu: mlir::llmc::SwiGluOp::create(b, loc, arg(0), arg(1), arg(2)); break;
    case OpKind::Softmax:
      mlir::llmc::SoftmaxOp::create(b, loc, arg(0), arg(1),
                                    spec.scale == 1.0f ? mlir::FloatAttr() : b.getF32FloatAttr(spec.scale));
      break;
    case OpKind::ArgMax: mlir::llmc::ArgMaxOp::create(b, loc, arg(0), arg(1)); break;
    case OpKind::Rope:
      mlir::llmc::RopeOp::create(b, loc, arg(0), arg(1), arg(2),
                                 mlir::llmc::RopeModeAttr::get(&context, spec.ropeMode),
                                 b.getI64IntegerAttr(spec.ropeDims), b.getI64IntegerAttr(spec.heads),
                                 b.getI64IntegerAttr(spec.headDim), b.getF32FloatAttr(spec.freqBase));
      break;
    case OpKind::KvStore:
      mlir::llmc::KvStoreOp::create(b, loc, arg(0), arg(1), arg(2), mlir::llmc::KvCacheTypeAttr::get(&context, spec.cache));
      break;
    case OpKind::Embed:
      mlir::llmc::EmbedOp::create(b, loc, arg(0), arg(1), arg(2), mlir::llmc::QuantTypeAttr::get(&context, spec.quant),
                                  b.getI64IntegerAttr(spec.tableRows), b.getI64IntegerAttr(spec.width),
                                  layoutAttr(context, spec.layout));
      break;
    case OpKind::Attention:
      mlir::llmc::AttentionOp::create(b, loc, arg(0), arg(1), arg(2), arg(3), arg(4),
                                      mlir::llmc::KvCacheTypeAttr::get(&context, spec.cache),
                                      b.getI64IntegerAttr(spec.heads), b.getI64IntegerAttr(spec.kvHeads),
                                      b.getI64IntegerAttr(spec.headDim), b.getF32FloatAttr(spec.scale),
                                      spec.causal ? b.getUnitAttr() : mlir::UnitAttr());
      break;
  }
  mlir::func::ReturnOp::create(b, loc);
  return module;
}

std::string chipFeatures(const TargetInfo& target) {
  if (target.kind() == CodeGenKind::Amdgpu) return target.warpSize() == 64 ? "+wavefrontsize64" : "+wavefrontsize32";
  return "";
}

bool writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// PTX modules of one chip joined into one: the first header, then every module's body.
std::string joinPtx(const std::vector<const KernelObject*>& kernels) {
  std::string joined;
  for (size_t i = 0; i < kernels.size(); ++i) {
    const std::string& text = kernels[i]->bytes;
    if (i == 0) {
      joined = text;
      continue;
    }
    const size_t header = text.find(".address_size");
    const size_t body = header == std::string::npos ? 0 : text.find('\n', header);
    joined += "\n";
    joined += body == std::string::npos ? text : text.substr(body + 1);
  }
  return joined;
}

}  // namespace

std::string lldPath() { return std::string(LLMC_LLVM_TOOLS_DIR) + "/ld.lld"; }

void registerCompilerDialects(mlir::DialectRegistry& registry) {
  registry.insert<mlir::arith::ArithDialect, mlir::cf::ControlFlowDialect, mlir::func::FuncDialect,
                  mlir::gpu::GPUDialect, mlir::LLVM::LLVMDialect, mlir::memref::MemRefDialect, mlir::NVVM::NVVMDialect,
                  mlir::ROCDL::ROCDLDialect, mlir::scf::SCFDialect, mlir::ub::UBDialect, mlir::vector::VectorDialect>();
  mlir::llmc::registerLLMCDialect(registry);
  // The dialects' conversion interfaces, which convert-gpu-to-nvvm / -rocdl draw patterns from.
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerGPUDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  mlir::registerROCDLDialectTranslation(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::ROCDL::registerROCDLTargetInterfaceExternalModels(registry);
}

void addQMatVecToLLVMPasses(mlir::OpPassManager& pm, const TargetInfo& target, bool allowInt8) {
  LowerQMatVecPassOptions lowering;
  lowering.target = std::string(codeGenKindName(target.kind()));
  lowering.chip = target.chipName();
  lowering.int8Dot = allowInt8;
  pm.addPass(createLowerQMatVecPass(lowering));
  LowerQMatMulPassOptions matmul;
  matmul.target = lowering.target;
  matmul.chip = lowering.chip;
  pm.addPass(createLowerQMatMulPass(matmul));
  LowerElementwisePassOptions elementwise;
  elementwise.target = lowering.target;
  elementwise.chip = lowering.chip;
  pm.addPass(createLowerElementwisePass(elementwise));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  target.addToLLVMPasses(pm);
}

void registerCompilerPasses() {
  registerLLMCCompilerPasses();
  mlir::registerPass([] { return createRejectExternalCallsPass(); });
  mlir::PassPipelineRegistration<KernelPipelineOptions>(
      "llmc-kernel-pipeline",
      "Lower the llmc ops for a GPU chip and serialize the kernels to ISA text (PTX or AMDGPU assembly)",
      [](mlir::OpPassManager& pm, const KernelPipelineOptions& options) {
        std::unique_ptr<TargetInfo> target = makeTargetInfo(options.chip.getValue());
        if (!target || !target->isGpu()) {
          // An unknown chip: let the lowering report it.
          LowerQMatVecPassOptions lowering;
          lowering.chip = options.chip.getValue();
          pm.addPass(createLowerQMatVecPass(lowering));
          return;
        }
        addQMatVecToLLVMPasses(pm, *target, options.int8Dot);
        mlir::GpuModuleToBinaryPassOptions binary;
        binary.compilationTarget = "isa";
        pm.addPass(mlir::createGpuModuleToBinaryPass(binary));
      });
}

KernelCompiler::KernelCompiler(std::unique_ptr<TargetInfo> target) : target_(std::move(target)) {
  mlir::DialectRegistry registry;
  registerCompilerDialects(registry);
  context_ = std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
  context_->loadAllAvailableDialects();
}

KernelCompiler::~KernelCompiler() = default;

std::optional<KernelObject> KernelCompiler::compile(const QMatVecPlan& plan, Part part, bool withAssembly,
                                                    std::string* error) {
  const std::string& wanted = part == Part::Product ? plan.kernelName : plan.quantizeKernelName;
  mlir::OwningOpRef<mlir::ModuleOp> module = buildQMatVecModule(*context_, plan);
  auto lowering = [&](mlir::PassManager& pm) {
    LowerQMatVecPassOptions options;
    options.target = std::string(codeGenKindName(target_->kind()));
    options.chip = target_->chipName();
    options.int8Dot = plan.method == DotMethod::Int8;
    pm.addPass(createLowerQMatVecPass(options));
  };
  return lowerAndEmit(*module, wanted, plan.kernelName, lowering, withAssembly, error);
}

std::optional<KernelObject> KernelCompiler::compileOp(const OpPlan& plan, bool withAssembly, std::string* error) {
  mlir::OwningOpRef<mlir::ModuleOp> module = buildOpModule(*context_, plan);
  auto lowering = [&](mlir::PassManager& pm) {
    LowerElementwisePassOptions options;
    options.target = std::string(codeGenKindName(target_->kind()));
    options.chip = target_->chipName();
    pm.addPass(createLowerElementwisePass(options));
  };
  return lowerAndEmit(*module, plan.kernelName, plan.kernelName, lowering, withAssembly, error);
}

std::optional<KernelObject> KernelCompiler::compileQMatMul(const QMatMulPlan& plan, bool withAssembly,
                                                           std::string* error) {
  mlir::OwningOpRef<mlir::ModuleOp> module = buildQMatMulModule(*context_, plan);
  auto lowering = [&](mlir::PassManager& pm) {
    LowerQMatMulPassOptions options;
    options.target = std::string(codeGenKindName(target_->kind()));
    options.chip = target_->chipName();
    pm.addPass(createLowerQMatMulPass(options));
  };
  return lowerAndEmit(*module, plan.kernelName, plan.kernelName, lowering, withAssembly, error);
}

std::optional<KernelObject> KernelCompiler::lowerAndEmit(mlir::ModuleOp module, const std::string& wanted,
                                                         const std::string& moduleName,
                                                         const std::function<void(mlir::PassManager&)>& addLowering,
                                                         bool withAssembly, std::string* error) {
  const bool gpu = target_->isGpu();
  bool ok = false;
  std::string diagnostics = captureDiagnostics(
      *context_,
      [&] {
        mlir::PassManager lowering(context_.get());
        addLowering(lowering);
        if (mlir::failed(lowering.run(module))) return false;
        // Only the wanted kernel travels: the host function was scaffolding for the lowering.
        if (auto host = module.lookupSymbol<mlir::func::FuncOp>("llmc_host")) host.erase();
        for (auto kernels : module.getOps<mlir::gpu::GPUModuleOp>()) {
          llvm::SmallVector<mlir::gpu::GPUFuncOp> others;
          for (auto func : kernels.getOps<mlir::gpu::GPUFuncOp>())
            if (func.getName() != wanted) others.push_back(func);
          for (auto func : others) func.erase();
        }
        mlir::PassManager toLLVM(context_.get());
        toLLVM.addPass(mlir::createCanonicalizerPass());
        toLLVM.addPass(mlir::createCSEPass());
        target_->addToLLVMPasses(toLLVM);
        if (gpu) {
          mlir::GpuModuleToBinaryPassOptions binary;
          binary.compilationTarget = target_->kind() == CodeGenKind::Nvptx ? "isa" : "llvm";
          toLLVM.addPass(mlir::createGpuModuleToBinaryPass(binary));
        }
        return mlir::succeeded(toLLVM.run(module));
      },
      &ok);
  if (!ok) {
    *error = wanted + ": lowering failed: " + diagnostics;
    return std::nullopt;
  }

  KernelObject object;
  if (target_->kind() == CodeGenKind::Nvptx) {
    auto binary = *module.getOps<mlir::gpu::BinaryOp>().begin();
    auto ptx = llvm::cast<mlir::gpu::ObjectAttr>(binary.getObjects()[0]);
    object.bytes = ptx.getObject().str();
    if (withAssembly) object.assembly = object.bytes;
    return object;
  }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  MachineTarget machine;
  if (target_->kind() == CodeGenKind::Amdgpu) {
    auto binary = *module.getOps<mlir::gpu::BinaryOp>().begin();
    auto bitcode = llvm::cast<mlir::gpu::ObjectAttr>(binary.getObjects()[0]).getObject();
    auto buffer = llvm::MemoryBuffer::getMemBuffer(bitcode.getValue(), moduleName, false);
    auto parsed = llvm::parseBitcodeFile(buffer->getMemBufferRef(), llvmContext);
    if (!parsed) {
      *error = moduleName + ": cannot read the AMDGPU bitcode: " + llvm::toString(parsed.takeError());
      return std::nullopt;
    }
    llvmModule = std::move(*parsed);
    machine = {"amdgcn-amd-amdhsa", target_->chipName(), chipFeatures(*target_)};
  } else {
    llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext, moduleName);
    if (!llvmModule) {
      *error = moduleName + ": translation to LLVM IR failed";
      return std::nullopt;
    }
    machine = {"x86_64-unknown-linux-gnu", "x86-64-v3", ""};
  }
  std::optional<std::string> bytes = emitObject(*llvmModule, machine, withAssembly ? &object.assembly : nullptr, error);
  if (!bytes) return std::nullopt;
  object.bytes = std::move(*bytes);
  return object;
}

std::optional<std::string> KernelCompiler::link(const std::vector<const KernelObject*>& kernels,
                                                const std::string& workDir, std::string* error) {
  if (target_->kind() == CodeGenKind::Nvptx) return joinPtx(kernels);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(workDir, ec);
  std::vector<std::string> inputs;
  for (size_t i = 0; i < kernels.size(); ++i) {
    inputs.push_back((fs::path(workDir) / ("kernel" + std::to_string(i) + ".o")).string());
    if (!writeFile(inputs.back(), kernels[i]->bytes)) {
      *error = inputs.back() + ": cannot write";
      return std::nullopt;
    }
  }
  const std::string output = (fs::path(workDir) / ("linked." + std::string(target_->kernelFileExtension()))).string();
  const std::string lld = lldPath();
  std::vector<llvm::StringRef> args = {lld, "-shared", "--no-undefined", "-o", output};
  if (target_->kind() == CodeGenKind::X86) args.insert(args.end(), {"-z", "noexecstack", "--hash-style=both"});
  for (const std::string& input : inputs) args.push_back(input);
  std::string message;
  const int status = llvm::sys::ExecuteAndWait(lld, args, std::nullopt, {}, 0, 0, &message);
  std::optional<std::string> linked = status == 0 ? readFile(output) : std::nullopt;
  for (const std::string& input : inputs) fs::remove(input, ec);
  fs::remove(output, ec);
  if (!linked) {
    *error = "linking " + target_->chipName() + " kernels with " + lld + " failed" +
             (message.empty() ? "" : ": " + message) + " (exit status " + std::to_string(status) + ")";
    return std::nullopt;
  }
  return linked;
}

}  // namespace llmc::compiler
