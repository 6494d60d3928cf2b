"""The window's packing process, started from a lab's own script (not `aqqua-packer gui`).

For such a script the package writer's rule picks fork for its workers; the window's own child
must never be forked from the Qt application: a forked copy keeps Qt's SIGCHLD handler, which reaped
the pack's workers before multiprocessing could ("ChildProcessError: No child processes", seen in
`docs/screenshots/take_screenshots.py`).  A real script in a subprocess, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    def main():
        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtWidgets import QApplication

        from aqqua_packer import workflow
        from aqqua_packer.gui.jobs import pack_job
        from aqqua_packer.gui.workers import ProcessWorker
        from aqqua_packer.resources import sample_data_dir

        from aqqua_packer.gui.main_window import MainWindow

        app = QApplication([])
        window = MainWindow(offer_continue=False)  # as the screenshot script does
        window.show()
        request = workflow.Request(sources=[sample_data_dir()])
        w = ProcessWorker(pack_job, (request, Path(sys.argv[1]), True, None), name="pack")
        loop = QEventLoop()
        w.finished.connect(loop.quit)
        QTimer.singleShot(240_000, loop.quit)
        w.start()
        loop.exec()
        print("OUTCOME", w.outcome, getattr(w, "result", None) and w.result.images)
        sys.exit(0 if w.outcome == "done" else 1)

    if __name__ == "__main__":
        main()
    """
)


def test_the_window_packs_when_started_from_a_users_own_script(tmp_path):
    script = tmp_path / "my_lab_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["AQQUA_PACKER_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "pkg")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "OUTCOME done 37" in r.stdout
