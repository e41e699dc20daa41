"""Prints the shape and dtype of a float32 .npy file (v1.0) and, given a file of space-separated
token ids, how many rows have their largest value at that id."""
import ast
import struct
import sys

data = open(sys.argv[1], "rb").read()
assert data[:6] == b"\x93NUMPY" and data[6:8] == b"\x01\x00", "not a .npy v1.0 file"
header_len = struct.unpack_from("<H", data, 8)[0]
assert (10 + header_len) % 64 == 0, "data not 64-byte aligned"
header = ast.literal_eval(data[10:10 + header_len].decode("latin1"))
rows, cols = header["shape"]
assert not header["fortran_order"]
body = data[10 + header_len:]
assert len(body) == rows * cols * 4, f"{len(body)} data bytes for shape {header['shape']}"
line = f"shape ({rows}, {cols}) '{header['descr']}'"
if len(sys.argv) > 2:
    ids = [int(t) for t in open(sys.argv[2]).read().split()]
    values = struct.unpack(f"<{rows * cols}f", body)
    matches = sum(1 for r in range(rows) if max(range(cols), key=lambda c: values[r * cols + c]) == ids[r])
    line += f" argmax matches {matches} of {rows}"
print(line)
