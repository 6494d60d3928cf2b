"""The frozen app's entry point: the same `aqqua-packer` command line as a pip install.

Started without arguments by a double-click (or the menu entry), it opens the desktop wizard
instead of printing help to a terminal nobody sees.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    # Worker processes of a frozen app re-run this executable; this hands them to multiprocessing
    # before anything else runs (needed for the spawn and forkserver start methods).
    multiprocessing.freeze_support()

    from aqqua_packer.cli import main

    argv = sys.argv[1:]
    if not argv:
        argv = ["gui"]
    sys.exit(main(argv))
