"""`python -S .../cchooks/hot.py [--sys-path DIR]... <command> ...`: cchooks without `site`.

What `cchooks install` writes for the hook and statusline commands; see cchooks/launch_hot.py.
Kept tiny because a script run as __main__ is compiled on every run (modules have .pyc files).
"""

import gc
import os
import sys

if __name__ == "__main__":
    gc.disable()  # a short-lived process: collections would only rescan what imports built
    if not sys.flags.safe_path:
        del sys.path[0]  # this script's directory: it would make cchooks/*.py importable as top-level modules
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the dir holding cchooks
    from cchooks.launch_hot import exit_now, main

    exit_now(main(sys.argv[1:]))
