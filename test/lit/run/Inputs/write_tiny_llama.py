"""Writes a tiny llama GGUF with a SentencePiece vocabulary and random f32 weights, so that the lit
tests can run `llmc run -p TEXT` end to end. With --zero-output-norm every logit is 0 and greedy
decoding picks token 0, which is the vocabulary's end of sequence.

  write_tiny_llama.py OUT.gguf [--zero-output-norm]
"""
import random
import struct
import sys

EMBD, FF, HEADS, KV_HEADS, LAYERS = 32, 64, 2, 1, 1
HEAD_DIM = EMBD // HEADS
# (text, score, type): 1 normal, 2 unknown, 3 control.
VOCAB = [("</s>", 0.0, 3), ("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("\u2581", -1.0, 1)]
VOCAB += [(c, -2.0, 1) for c in "abcdehlorw"]
VOCAB += [("\u2581" + w, -1.5, 1) for w in ("hello", "world", "a", "b")]
VOCAB += [("he", -1.8, 1), ("ll", -1.8, 1), ("lo", -1.8, 1), ("or", -1.8, 1)]


def string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, type_id, payload):
    return string(key) + struct.pack("<I", type_id) + payload


def main():
    out = sys.argv[1]
    zero_output_norm = "--zero-output-norm" in sys.argv[2:]
    rng = random.Random(5)
    meta = [
        kv("general.architecture", 8, string("llama")),
        kv("llama.block_count", 4, struct.pack("<I", LAYERS)),
        kv("llama.context_length", 4, struct.pack("<I", 64)),
        kv("llama.embedding_length", 4, struct.pack("<I", EMBD)),
        kv("llama.feed_forward_length", 4, struct.pack("<I", FF)),
        kv("llama.attention.head_count", 4, struct.pack("<I", HEADS)),
        kv("llama.attention.head_count_kv", 4, struct.pack("<I", KV_HEADS)),
        kv("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
        kv("tokenizer.ggml.model", 8, string("llama")),
        kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(VOCAB)) + b"".join(string(t) for t, _, _ in VOCAB)),
        kv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, len(VOCAB)) + b"".join(struct.pack("<f", s) for _, s, _ in VOCAB)),
        kv("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(VOCAB)) + b"".join(struct.pack("<i", k) for _, _, k in VOCAB)),
        kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 2)),
        kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 0)),
        kv("tokenizer.ggml.unknown_token_id", 4, struct.pack("<I", 1)),
        kv("tokenizer.ggml.add_bos_token", 7, struct.pack("<B", 1)),
    ]
    tensors = [("token_embd.weight", [EMBD, len(VOCAB)], "matrix")]
    for i in range(LAYERS):
        p = f"blk.{i}."
        tensors += [
            (p + "attn_norm.weight", [EMBD], "norm"),
            (p + "attn_q.weight", [EMBD, HEADS * HEAD_DIM], "matrix"),
            (p + "attn_k.weight", [EMBD, KV_HEADS * HEAD_DIM], "matrix"),
            (p + "attn_v.weight", [EMBD, KV_HEADS * HEAD_DIM], "matrix"),
            (p + "attn_output.weight", [HEADS * HEAD_DIM, EMBD], "matrix"),
            (p + "ffn_norm.weight", [EMBD], "norm"),
            (p + "ffn_gate.weight", [EMBD, FF], "matrix"),
            (p + "ffn_up.weight", [EMBD, FF], "matrix"),
            (p + "ffn_down.weight", [FF, EMBD], "matrix"),
        ]
    tensors += [("output_norm.weight", [EMBD], "zero" if zero_output_norm else "norm"),
                ("output.weight", [EMBD, len(VOCAB)], "matrix")]

    infos, data = b"", b""
    for name, ne, kind in tensors:
        data += b"\0" * (-len(data) % 32)
        infos += string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", 0, len(data))  # f32, offset
        count = 1
        for d in ne:
            count *= d
        if kind == "matrix":
            values = [rng.gauss(0.0, 1.0 / ne[0] ** 0.5) for _ in range(count)]
        elif kind == "norm":
            values = [1.0 + 0.1 * rng.gauss(0.0, 1.0) for _ in range(count)]
        else:
            values = [0.0] * count
        data += struct.pack(f"<{count}f", *values)
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta) + infos
    header += b"\0" * (-len(header) % 32)
    with open(out, "wb") as f:
        f.write(header + data)


main()
