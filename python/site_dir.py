"""Prints where `python3` finds packages under the prefix argv[1], relative to it (used by
CMake to install the qeq package where this interpreter will import it)."""
import os
import sys
import sysconfig

prefix = os.path.abspath(sys.argv[1])
for entry in sys.path:
    rel = os.path.relpath(entry, prefix) if entry else ".."
    if rel.startswith("lib") and os.path.basename(entry) in ("dist-packages", "site-packages"):
        print(rel)
        break
else:
    path = sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix})
    print(os.path.relpath(path, prefix))
