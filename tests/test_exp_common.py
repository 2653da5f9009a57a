"""What the lab commands share (cli/_common.py, _options.py): --seeds, comma lists, atomic writes, early checks."""
import argparse
import json

import numpy as np
import pytest

from initlab.cli import _common as common
from initlab.cli import _options as options
from initlab.cli import main
from initlab.errors import InvalidValueError


def test_seeds_as_a_count_or_a_list():
    assert options.seeds_arg("3") == (0, 1, 2)
    assert options.seeds_arg("0,5") == (0, 5)
    assert options.seeds_arg(" 7 , 2") == (7, 2)
    assert options.seeds_arg("5,") == (5,)          # one seed, not seeds 0..4


@pytest.mark.parametrize("text", ["0", "-1", "x", "1,,2", "1,-2", "1.5", ","])
def test_bad_seeds_are_argparse_type_errors(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        options.seeds_arg(text)
    with pytest.raises(argparse.ArgumentTypeError, match="repeated"):    # it would run twice as two seeds
        options.seeds_arg("5,5")


def test_tiny_runs_the_presets_seeds_unless_seeds_are_given():
    parser = argparse.ArgumentParser()
    common.add_common(parser, default_out="x", default_seeds="5")
    parser.add_argument("--tiny", action="store_true")
    tiny = {"seeds": (0,)}
    assert common.chosen_seeds(parser.parse_args([]), tiny) == (0, 1, 2, 3, 4)
    assert common.chosen_seeds(parser.parse_args(["--tiny"]), tiny) == (0,)
    assert common.chosen_seeds(parser.parse_args(["--tiny", "--seeds", "2"]), tiny) == (0, 1)


@pytest.mark.parametrize("text, shown", [("0", "expected a count >= 1"), ("-1", "expected a count >= 1"),
                                         ("two", "expected a count (3), a list (0,5,9) or one seed (5,)")])
def test_the_cli_shows_why_seeds_are_bad(tmp_path, capsys, text, shown):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as stop:
        main(["symmetry", "--tiny", "--seeds", text, "--out", str(out)])
    assert stop.value.code == 2
    assert shown in capsys.readouterr().err
    assert not out.exists()


def test_split_list_keeps_commas_inside_brackets_and_quotes():
    spec = "truncated_normal(std=1, a=-2, b=2)"
    assert options.split_list(spec, "--inits") == [spec]
    assert options.split_list(f"he_normal, {spec} ,glorot_uniform", "--inits") == ["he_normal", spec, "glorot_uniform"]
    assert options.split_list("a[1, 2],'x,y',{k: 1, j: 2}", "--x") == ["a[1, 2]", "'x,y'", "{k: 1, j: 2}"]
    assert options.split_ints("10, 20,30", "--depths") == (10, 20, 30)


@pytest.mark.parametrize("text, message", [("", "empty"), (",", "empty"), ("a,,b", "empty"), ("a,", "empty"),
                                           ("f(1, 2", "unclosed"), ("f(1))", "unbalanced"), ("'a,b", "unclosed")])
def test_split_list_refuses_empty_items_and_unbalanced_brackets(text, message):
    with pytest.raises(InvalidValueError, match=f"^--inits: .*{message}"):
        options.split_list(text, "--inits")


def test_split_ints_names_the_option():
    with pytest.raises(InvalidValueError, match="--depths: expected comma-separated integers"):
        options.split_ints("10,ten", "--depths")


def test_propagate_takes_an_initializer_spec_with_commas(tmp_path):
    out = tmp_path / "prop"
    spec = "truncated_normal(std=0.5, a=-1, b=1)"
    argv = ["propagate", "--tiny", "--seeds", "1", "--out", str(out), "--depth", "3", "--inits", f"he,{spec}",
            "--activations", "relu", "--no-sweep"]
    assert main(argv) == 0
    data = json.loads((out / "result.json").read_text())
    assert list(data["configs"]["relu"]) == ["he", spec]


def test_write_json_does_not_use_a_fixed_temp_name(tmp_path):
    path = tmp_path / "result.json"
    (tmp_path / "result.json.tmp").mkdir()             # in the way of a fixed "<name>.tmp"
    common.write_json(path, {"a": np.float32(1.5)})
    assert json.loads(path.read_text()) == {"a": 1.5}


def test_check_study_options_passes_only_what_check_options_takes():
    class Study:
        @staticmethod
        def check_options(a, *, b=2):
            return a, b
    assert common.check_study_options(Study, {"a": 1, "b": 3, "progress": None, "other": 4}) == (1, 3)
