"""Static instruction count of the WeightOnlyGemm Hopper kernels' main loops, without a GPU.

Reads `cuobjdump -sass` listings and, for each kernel whose mangled name contains every filter, prints the number of
SASS instructions from one `WARPGROUP.ARRIVE` to the next (wgmma kernel: one consumer step — a tile's four wgmma
issued, the next tile dequantized, the wait, the slot released — per warp) and, with `--loop`, the length of the
longest loop (a backward branch) that holds an mma and no CTA barrier (bulk-copy kernel: one stage of a consumer warp,
its kU tiles). Fewer is not faster by itself (latencies and the tensor pipe decide that); it is a check of what the
compiler made of a change before a GPU measures it.

    nvcc -cubin -gencode arch=compute_90a,code=sm_90a ... woqWgmmaSm90.cu -o new.cubin
    cuobjdump -sass new.cubin > new.sass   # cuobjdump and nvdisasm: PyPI nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm
    python3 benchmarks/plugins/sass_tile_steps.py new.sass base.sass --kernel Li64ELi2ELi4 --kernel 6__half
    python3 benchmarks/plugins/sass_tile_steps.py bulk.sass --loop --kernel woqBulk
"""

from __future__ import annotations

import argparse
import re

FUNCTION = re.compile(r"Function : (\S+)")
INSTRUCTION = re.compile(r"\s+/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)([^;]*)")
BRANCH_TARGET = re.compile(r"BRA\S*\s+(?:!?U?P\w+,\s*)?(0x[0-9a-f]+)")


def kernels(listing: str) -> dict[str, list[tuple[int, str, str]]]:
    """Kernel name → its instructions in order (address, opcode, operands), from a cuobjdump -sass listing."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    current = None
    with open(listing) as f:
        for line in f:
            if m := FUNCTION.search(line):
                current = found.setdefault(m.group(1), [])
            elif current is not None and (m := INSTRUCTION.match(line)):
                current.append((int(m.group(1), 16), m.group(2), m.group(2) + m.group(3)))
    return found


def longest_mma_loop(code: list[tuple[int, str, str]]) -> int:
    """Instructions in the longest loop (backward branch) that holds an mma and no CTA barrier; 0 if none."""
    index = {address: i for i, (address, _, _) in enumerate(code)}
    best = 0
    for i, (address, _, text) in enumerate(code):
        m = BRANCH_TARGET.search(text)
        if m and int(m.group(1), 16) < address and int(m.group(1), 16) in index:
            body = [op for _, op, _ in code[index[int(m.group(1), 16)] : i + 1]]
            if any("MMA" in op for op in body) and not any(op.startswith("BAR.SYNC") for op in body):
                best = max(best, len(body))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listings", nargs="+", help="cuobjdump -sass outputs")
    parser.add_argument("--kernel", action="append", default=[], help="substring of the mangled name (repeatable)")
    parser.add_argument("--loop", action="store_true", help="also the longest loop with an mma and no CTA barrier")
    args = parser.parse_args()
    for listing in args.listings:
        for name, code in kernels(listing).items():
            if all(k in name for k in args.kernel):
                arrives = [i for i, (_, op, _) in enumerate(code) if op.startswith("WARPGROUP.ARRIVE")]
                steps = [b - a for a, b in zip(arrives, arrives[1:])]
                loop = f", mma loop {longest_mma_loop(code)}" if args.loop else ""
                print(f"{listing}: {name}: {len(code)} instructions, steps {steps}{loop}")


if __name__ == "__main__":
    main()
