"""Every script in examples/ runs (at its --quick size) and says something true."""
import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chosen_or_learned_trains_both_ways_above_chance(capsys):
    chosen, learned = load("chosen_or_learned").main(["--quick"])
    chance = 1 / 8
    assert chosen > 2 * chance and learned > 2 * chance
    out = capsys.readouterr().out
    assert out.count("learned filter") == 6 and "most like" in out
