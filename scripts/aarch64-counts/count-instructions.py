"""Instructions a program executed under qemu-user, from the log of `-d in_asm,exec,nochain`
on stdin: each translation block's instruction count (its in_asm listing) times its
executions (its exec "Trace" lines; nochain makes every execution log one)."""
import re
import sys

TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
INSN = re.compile(r"^0x([0-9a-f]+):\s")

block_size = {}
executions = {}
block = None
for line in sys.stdin:
    if line.startswith("Trace"):
        m = TRACE.match(line)
        if m:
            pc = int(m.group(1), 16)
            executions[pc] = executions.get(pc, 0) + 1
    elif line.startswith("IN:"):
        block = None
    else:
        m = INSN.match(line)
        if m:
            if block is None:
                block = int(m.group(1), 16)
                block_size[block] = 0
            block_size[block] += 1
unknown = sum(n for pc, n in executions.items() if pc not in block_size)
if unknown:
    sys.exit(f"{unknown} block executions without a listing")
print(sum(n * block_size[pc] for pc, n in executions.items()))
