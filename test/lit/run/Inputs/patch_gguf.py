"""Edits one tensor entry in a GGUF header in place, to make malformed models for the lit tests.

  patch_gguf.py FILE rename OLD NEW          NEW must have the length of OLD
  patch_gguf.py FILE set-dim NAME AXIS VALUE
"""
import struct
import sys


def find_tensor(data, name):
    key = struct.pack("<Q", len(name)) + name.encode()
    at = data.find(key)
    if at < 0:
        sys.exit(f"patch_gguf.py: tensor {name} not found")
    return at + len(key)  # start of n_dims


def main():
    path, action = sys.argv[1], sys.argv[2]
    data = bytearray(open(path, "rb").read())
    if action == "rename":
        old, new = sys.argv[3], sys.argv[4]
        if len(old) != len(new):
            sys.exit("patch_gguf.py: names must have the same length")
        end = find_tensor(data, old)
        data[end - len(old):end] = new.encode()
    elif action == "set-dim":
        name, axis, value = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        dims_at = find_tensor(data, name) + 4
        struct.pack_into("<Q", data, dims_at + 8 * axis, value)
    else:
        sys.exit(f"patch_gguf.py: unknown action {action}")
    open(path, "wb").write(bytes(data))


main()
