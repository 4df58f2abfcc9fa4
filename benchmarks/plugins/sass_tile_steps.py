"""Static instruction count of the WeightOnlyGemm wgmma kernel's main loop, without a GPU.

Reads `cuobjdump -sass` listings and, for each kernel whose mangled name contains every filter, prints the number of
SASS instructions from one `WARPGROUP.ARRIVE` to the next: one consumer step (a tile's four wgmma issued, the next
tile dequantized, the wait, the slot released), per warp. Fewer is not faster by itself (latencies and the tensor
pipe decide that); it is a check of what the compiler made of a change before a GPU measures it.

    nvcc -cubin -gencode arch=compute_90a,code=sm_90a ... woqWgmmaSm90.cu -o new.cubin
    cuobjdump -sass new.cubin > new.sass   # cuobjdump and nvdisasm: PyPI nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm
    python3 benchmarks/plugins/sass_tile_steps.py new.sass base.sass --kernel Li64ELi2ELi4 --kernel 6__half
"""

from __future__ import annotations

import argparse
import re

FUNCTION = re.compile(r"Function : (\S+)")
INSTRUCTION = re.compile(r"\s+/\*[0-9a-f]{4}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)")


def kernels(listing: str) -> dict[str, list[str]]:
    """Kernel name → its opcodes in order, from a cuobjdump -sass listing."""
    found: dict[str, list[str]] = {}
    current = None
    with open(listing) as f:
        for line in f:
            if m := FUNCTION.search(line):
                current = found.setdefault(m.group(1), [])
            elif current is not None and (m := INSTRUCTION.match(line)):
                current.append(m.group(1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listings", nargs="+", help="cuobjdump -sass outputs")
    parser.add_argument("--kernel", action="append", default=[], help="substring of the mangled name (repeatable)")
    args = parser.parse_args()
    for listing in args.listings:
        for name, ops in kernels(listing).items():
            if all(k in name for k in args.kernel):
                arrives = [i for i, op in enumerate(ops) if op.startswith("WARPGROUP.ARRIVE")]
                steps = [b - a for a, b in zip(arrives, arrives[1:])]
                print(f"{listing}: {name}: {len(ops)} instructions, steps {steps}")


if __name__ == "__main__":
    main()
