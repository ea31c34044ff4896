"""scripts/tidb-server: the path of a cached build at once, one error line when Go is missing or
too old (the build itself runs in CI, .ci/run, before the TiDB lane)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "scripts" / "tidb-server"
VERSION = re.search(r"^TIDB_VERSION=(\S+)$", SCRIPT.read_text(), re.MULTILINE)


def _run(tmp_path: Path, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "HOME": str(tmp_path),
                               "RIG_TIDB_CACHE": str(tmp_path / "cache")})


def test_a_cached_build_is_printed_alone_without_go(tmp_path: Path) -> None:
    assert VERSION is not None
    binary = tmp_path / "cache" / VERSION.group(1) / "tidb-server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    done = _run(tmp_path, "/usr/bin:/bin")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{binary}\n", "")


def test_missing_go_is_one_line_and_exit_1(tmp_path: Path) -> None:
    tools = tmp_path / "bin"  # what the script runs before it looks for go
    tools.mkdir()
    (tools / "dirname").symlink_to("/usr/bin/dirname")
    done = _run(tmp_path, str(tools))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == ("tidb-server: error: go not found on PATH: install Go 1.21 or newer "
                           "(https://go.dev/dl/) and put it on PATH\n")


def test_too_old_go_is_one_line_and_exit_1(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "go"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho go1.19.3\n")
    fake.chmod(0o755)
    done = _run(tmp_path, f"{fake.parent}:/usr/bin:/bin")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("tidb-server: error: go 1.19.3 is too old to fetch the go1.25")
    assert done.stderr.endswith(": install Go 1.21 or newer (https://go.dev/dl/) and put it "
                                "first on PATH\n")
    assert done.stderr.count("\n") == 1
