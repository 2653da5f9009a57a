"""A study killed halfway (SIGKILL) and started again with the same command finishes, recomputes
no finished task, and writes the same result.json as a run that was never interrupted."""
import json
import signal
import subprocess
import sys
import time

from initlab.cli import main

ARGV = ["depth", "--tiny", "--jobs", "1", "--depths", "2,3", "--steps", "40", "--seeds", "3"]


def test_a_killed_study_resumes_without_recomputing(tmp_path, capsys):
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "initlab", *ARGV, "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tasks = out / "tasks" / "depth"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(tasks.glob("*.json"))) < 4 and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    before = {p.name: p.stat().st_mtime_ns for p in tasks.glob("*.json")}
    assert 4 <= len(before) < 30, "the kill came too late to interrupt anything"
    assert not (out / "result.json").exists()

    assert main([*ARGV, "--out", str(out)]) == 0               # the same command, no --force
    assert f"{len(before)} of 30 tasks reused" in " ".join(capsys.readouterr().out.split())
    assert all(tasks.joinpath(name).stat().st_mtime_ns == stamp for name, stamp in before.items())
    assert json.loads((out / "timing.json").read_text())["."]["reused"] == len(before)

    fresh = tmp_path / "fresh"
    assert main([*ARGV, "--out", str(fresh)]) == 0
    assert (out / "result.json").read_bytes() == (fresh / "result.json").read_bytes()


def test_more_seeds_later_reuse_the_finished_ones(tmp_path, capsys):
    out = tmp_path / "grow"
    argv = ["depth", "--tiny", "--jobs", "1", "--depths", "2", "--steps", "10", "--out", str(out)]
    assert main([*argv, "--seeds", "2"]) == 0
    assert main([*argv, "--seeds", "3"]) == 0
    assert "10 of 15 tasks reused" in " ".join(capsys.readouterr().out.split())   # 5 tasks a seed
