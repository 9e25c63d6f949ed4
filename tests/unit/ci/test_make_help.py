import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_make_help_into_a_pipe_has_no_colour_codes():
    make = shutil.which("make")
    assert make, "make is needed to run the project's front door"
    listing = subprocess.run(
        [make, "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "\033[" not in listing
    assert "  help " in listing and "List every target" in listing
