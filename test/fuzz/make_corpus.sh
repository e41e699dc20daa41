#!/usr/bin/env bash
# Writes the seed corpus: tiny complete models of each architecture and quant family, skeletons,
# and a few cut files. Usage: make_corpus.sh path/to/llmc
set -euo pipefail
llmc=${1:?usage: make_corpus.sh path/to/llmc}
out=$(dirname "$0")/corpus
rm -rf "$out" && mkdir -p "$out"
# Complete files stay tiny (32-element blocks); shapes that need 256-element blocks are skeletons,
# since mutating tensor bytes teaches the fuzzer nothing about the header.
tiny="--layers 1 --embd 32 --ff 64 --heads 2 --kv-heads 1 --vocab 8"
"$llmc" synth --arch llama $tiny -t Q4_0 -o "$out/llama-q4_0.gguf"
"$llmc" synth --arch qwen2 $tiny -t Q8_0 -o "$out/qwen2-q8_0.gguf"
"$llmc" synth --arch qwen3 $tiny -t F16 -o "$out/qwen3-f16.gguf"
"$llmc" synth --arch gemma3 $tiny --sliding-window 16 -t Q5_1 -o "$out/gemma3-q5_1.gguf"
"$llmc" synth --arch gpt-oss --layers 1 --embd 32 --heads 2 --vocab 8 --experts 4 --experts-used 2 --ff-expert 32 \
  -t MXFP4_MOE -o "$out/gpt-oss-mxfp4.gguf"
small="--layers 2 --embd 256 --ff 512 --heads 4 --kv-heads 2 --vocab 32"
"$llmc" skeleton --arch qwen3 $small -t Q4_K_M -o "$out/qwen3-q4_k_m.skeleton.gguf" 2>/dev/null
"$llmc" skeleton --arch llama $small -t Q3_K_M -o "$out/llama-q3_k_m.skeleton.gguf" 2>/dev/null
"$llmc" skeleton --arch qwen3moe --layers 1 --embd 256 --heads 4 --vocab 32 --experts 8 --experts-used 2 --ff-expert 256 \
  -t IQ4_XS -o "$out/qwen3moe-iq4_xs.skeleton.gguf" 2>/dev/null
head -c 600 "$out/qwen2-q8_0.gguf" > "$out/qwen2-cut.gguf"
printf 'GGUF\003\000\000\000' > "$out/preamble-only.gguf"
# Metadata of every value type, including string and numeric arrays as tokenizers store them.
{
  printf 'GGUF\003\000\000\000'
  printf '\000\000\000\000\000\000\000\000'   # no tensors
  printf '\005\000\000\000\000\000\000\000'   # 5 keys
  printf '\024\000\000\000\000\000\000\000general.architecture\010\000\000\000'
  printf '\005\000\000\000\000\000\000\000llama'
  printf '\025\000\000\000\000\000\000\000tokenizer.ggml.tokens\011\000\000\000\010\000\000\000'
  printf '\003\000\000\000\000\000\000\000'
  printf '\003\000\000\000\000\000\000\000<s>\004\000\000\000\000\000\000\000</s>\001\000\000\000\000\000\000\000a'
  printf '\025\000\000\000\000\000\000\000tokenizer.ggml.scores\011\000\000\000\006\000\000\000'
  printf '\003\000\000\000\000\000\000\000\000\000\000\000\000\000\200\277\000\000\000\300'
  printf '\021\000\000\000\000\000\000\000general.alignment\004\000\000\000\100\000\000\000'
  printf '\027\000\000\000\000\000\000\000tokenizer.ggml.add_bos_\007\000\000\000\001'
} > "$out/metadata-types.gguf"
