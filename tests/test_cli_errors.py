"""The command line refuses bad input with one line that names the option as typed, what was
expected and what was given, before any work and before --out is created: no prefix guessing,
no silent duplicates, no sizes that exhaust the memory, no empty or unwritable paths, and no
traceback. (`initlab train` has its own cases in test_cli_train.py and test_bad_input.py.)"""
from pathlib import Path

import pytest

from initlab.cli import main
from initlab.errors import InvalidValueError, UnknownNameError
from initlab.experiments import cv as cv_study
from initlab.experiments import symmetry as symmetry_study


def run(capsys, *argv):
    """(exit status, stdout, stderr) of `initlab argv`, argparse's own exits included."""
    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(err, *parts, start=None):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0] and "Traceback" not in err, err
    if start is not None:
        assert lines[0].startswith(start), err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


def lab(command, tmp_path, *argv):
    """A tiny lab command writing to tmp_path/out."""
    return [command, "--tiny", "--out", str(tmp_path / "out"), *argv]


# ------------------------------------------------------------------------------ the parser

@pytest.mark.parametrize("argv, given", [
    (["symmetry", "--tiny", "--step", "6", "--out", "{out}"], "--step"),     # was --steps 6
    (["zero-mean", "--tiny", "--dep", "3", "--out", "{out}"], "--dep"),      # was --depth 3
    (["train", "--n", "60", "--epoch", "1"], "--epoch"),                      # was --epochs 1
    (["--thread=2", "train", "--n", "60", "--epochs", "1"], "--thread=2"),    # was --threads 2
])
def test_no_option_is_guessed_from_a_prefix(capsys, tmp_path, argv, given):
    status, out, err = run(capsys, *[arg.format(out=tmp_path / "out") for arg in argv])
    assert status == 2 and out == ""
    assert_one_line(err, given)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value, hint", [("3", "--seeds 3,"), (None, "--seeds 5,")])
def test_seed_on_a_command_that_takes_seeds_is_an_error_with_the_spelling_it_needs(capsys, tmp_path, value, hint):
    status, _, err = run(capsys, *lab("symmetry", tmp_path, "--seed", *([value] if value else [])))
    assert status == 2
    assert_one_line(err, "--seed: this command takes --seeds", "--seeds 3 runs seeds 0,1,2", hint,
                    start="initlab symmetry: error: ")
    assert not (tmp_path / "out").exists()


def test_a_negative_number_in_scientific_notation_is_a_value(capsys):
    status, _, err = run(capsys, "train", "--lr", "-1e-3")
    assert status == 2
    assert_one_line(err, "--lr: expected a value in (0, inf), got -0.001")


def test_argparse_errors_are_one_line_pointing_at_the_command_help(capsys):
    status, _, err = run(capsys, "propagate", "--depth")
    assert status == 2
    assert_one_line(err, "argument --depth: expected one argument", "see 'initlab propagate --help'")
    status, _, err = run(capsys, "symmetry", "--tiny", "--lang", "ja")
    assert status == 2
    assert_one_line(err, "unrecognized arguments: --lang ja", "see 'initlab symmetry --help'",
                    start="initlab symmetry: error: ")


@pytest.mark.parametrize("argv", [["--threads", "100000", "train"], ["train", "--threads", "0"],
                                  ["train", "--threads", "257"]])
def test_threads_are_bounded_before_or_after_the_command(capsys, argv):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert_one_line(err, "--threads: expected an integer from 1 to 256", start="initlab: error: --threads")


def test_global_options_are_accepted_after_the_command_too():
    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):     # --debug: the traceback
        main(["train", "--data", "digit", "--threads", "1", "--debug"])


# ------------------------------------------------------------------------------ sizes

@pytest.mark.parametrize("argv, expected", [
    (["train", "--data", "shapes", "--n", "999999999999"], ["--n: expected at most 100,000", "999,999,999,999"]),
    (["train", "--model", "plain:2x99999999999"], ["--model plain:2x99999999999: width: expected at most 1,024"]),
    (["train", "--model", "plain:99999999999x8"], ["--model plain:99999999999x8: depth: expected at most 1,000"]),
    (["train", "--epochs", "99999999999999"], ["--epochs: expected at most 1,000,000"]),
    (["symmetry", "--tiny", "--steps", "99999999999999"], ["--steps: expected at most 1,000,000"]),
    (["filters", "--tiny", "--n-images", "99999999999"], ["--n-images: expected at most 100,000"]),
    (["prefilters", "--tiny", "--n-train", "99999999999"], ["--n-train: expected at most 100,000"]),
    (["propagate", "--tiny", "--depth", "99999999999"], ["--depth: expected at most 1,000"]),
    (["propagate", "--tiny", "--width", "5000"], ["--width: expected at most 1,024"]),
    (["propagate", "--tiny", "--batch", "999999999"], ["--batch: expected at most 100,000"]),
    (["zero-mean", "--tiny", "--depth", "99999999999"], ["--depth: expected at most 1,000"]),
    (["depth", "--tiny", "--depths", "2,99999999999"], ["--depths: expected at most 1,000"]),
    (["deep", "--tiny", "--depths", "5000"], ["--depths: expected at most 1,000"]),
    (["cv", "--tiny", "--n", "999999999"], ["--n: expected at most 100,000"]),
    (["symmetry", "--tiny", "--seeds", "99999999999"], ["argument --seeds: expected at most 1000 seeds"]),
])
def test_sizes_beyond_the_memory_are_refused_before_any_work(capsys, tmp_path, argv, expected):
    if argv[0] != "train":
        argv = [*argv, "--out", str(tmp_path / "out")]
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert_one_line(err, *expected)
    assert not (tmp_path / "out").exists()


def test_help_documents_the_limits(capsys):
    with pytest.raises(SystemExit):
        main(["depth", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "at most 1,000 layers, 1,024 channels per layer, 100,000 images" in shown


# the studies run their grids through the lab's runner: the tasks are made in this process, after --out
@pytest.mark.parametrize("command, study", [("symmetry", symmetry_study), ("cv", cv_study)])
def test_running_out_of_memory_is_one_line_naming_the_sizes_and_leaves_no_out_folder(
        capsys, tmp_path, monkeypatch, command, study):
    def run_out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.28 TiB for an array with shape (999999999999,)")
    monkeypatch.setattr(study, "tasks", run_out_of_memory)
    out = tmp_path / "a" / "b"
    status, _, err = run(capsys, command, "--tiny", "--out", str(out))
    assert status == 2
    assert_one_line(err, f"not enough memory for 'initlab {command}'", "7.28 TiB", "try smaller sizes (")
    assert not (tmp_path / "a").exists()          # the folders this run created are gone again


# ------------------------------------------------------------------------------ names in messages

@pytest.mark.parametrize("argv, start, expected", [
    (["propagate", "--sweep-widths", "0"], "--sweep-widths: ", ["expected an integer >= 1, got 0"]),
    (["propagate", "--inits", "std=0.05"], "--inits: ", ["malformed", "--inits takes std=0.01, std=1, glorot",
                                                         "'normal(std=0.05)'"]),
    (["propagate", "--data", "mnist:"], "--data: ", ["unknown dataset 'mnist:'"]),
    (["depth", "--depths", "0"], "--depths: ", ["expected an integer >= 1, got 0"]),
    (["depth", "--batch-size", "5000"], "--batch-size: ", ["at most the 282 training examples"]),
    (["zero-mean", "--depth", "0"], "--depth: ", ["expected an integer >= 1, got 0"]),
    (["zero-mean", "--shift", "1e308"], "--shift: ", ["expected a value in [-100, 100], got 1e+308"]),
    (["symmetry", "--inits", "zeros,he_norml"], "--inits: ", ["unknown initializer 'he_norml'"]),
    (["filters", "--starts", "he_normal,hnd"], "--starts: ", ["did you mean 'hand'"]),
    (["prefilters", "--data", "shapes,mnst"], "--data: ", ["unknown dataset 'mnst'"]),
    (["prefilters", "--kernel-size", "9", "--data", "digits"], "--kernel-size: ", ["larger than the digits images"]),
    (["cv", "--param", "colour=red"], "--param: ", ["unknown CNNClassifier parameter 'colour'"]),
    (["cv", "--folds", "1"], "--folds: ", ["expected an integer >= 2, got 1"]),
    (["cv", "--jobs", "-5"], "--jobs: ", ["from 1 to 256, got -5"]),
])
def test_errors_start_with_the_option_as_typed(capsys, tmp_path, argv, start, expected):
    status, _, err = run(capsys, *lab(argv[0], tmp_path, *argv[1:]))
    assert status == 2
    assert_one_line(err, *expected, start=f"initlab: error: {start}")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ cv, checked up front

@pytest.mark.parametrize("argv, expected", [
    (["--n", "60", "--folds", "30"], ["--folds: expected at most", "the examples of the smallest class",
                                      "got 30", "a larger --n"]),
    (["--folds", "100000"], ["--folds: expected at most", "got 100000"]),
    (["--seeds", "-1,"], ["expected a count >= 1 or a list of seeds >= 0, got '-1,'"]),
    (["--backend", "dask", "--scheduler", "notanaddress"], ["--scheduler: expected an address such as "
                                                            "tcp://HOST:8786", "'notanaddress'"]),
    (["--backend", "dask", "--scheduler", "tcp://host:99999"], ["--scheduler", "port 1 to 65535"]),
    (["--scheduler", "tcp://host:8786"], ["--scheduler: a scheduler address is only used with --backend dask"]),
    (["--model", "small_cn"], ["--model: unknown model 'small_cn'; did you mean 'small_cnn'"]),
    (["--model", "plain:0x8"], ["--model plain:0x8: depth: expected an integer >= 1, got 0"]),
    (["--model", "lenet5"], ["--model: model 'lenet5' cannot take images of shape (1, 8, 8)"]),
    (["--param", "init_scale=0.1,-1"], ["--param init_scale=-1: init_scale: expected a value in [0, inf), got -1"]),
    (["--param", "activation=relu,rleu"], ["--param activation='rleu': unknown activation 'rleu'"]),
    # the resolver's UnicodeError on an empty or over-long host label; sizes through --param
    (["--backend", "dask", "--scheduler", "tcp://a..b:8786"], ["--scheduler: expected an address"]),
    (["--backend", "dask", "--scheduler", f"tcp://{'h' * 64}:8786"], ["--scheduler: expected an address"]),
    (["--param", "epochs=1,1000001"], ["--param epochs: expected at most 1,000,000"]),
    (["--param", "model=plain:2x1025"], ["--param model plain:2x1025: width: expected at most 1,024"]),
    (["--jobs", "400"], ["--jobs: expected a whole number of worker processes from 1 to 256, got 400"]),
])
def test_cv_refuses_what_scikit_learn_numpy_or_dask_would_raise_later(capsys, tmp_path, argv, expected):
    status, _, err = run(capsys, *lab("cv", tmp_path, *argv))
    assert status == 2
    assert_one_line(err, *expected)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ duplicates

@pytest.mark.parametrize("argv, expected", [
    (["symmetry", "--inits", "zeros,zeros"], "--inits: expected each item once, got 'zeros' after 'zeros'"),
    (["symmetry", "--inits", "zeros, ZEROS"], "--inits: expected each item once, got 'ZEROS' after 'zeros'"),
    (["zero-mean", "--inits", "centred,centred"], "--inits: expected each item once"),
    (["propagate", "--inits", "he,he"], "--inits: expected each item once"),
    (["propagate", "--activations", "relu,relu"], "--activations: expected each item once"),
    (["filters", "--starts", "hand,hand"], "--starts: expected each item once"),
    (["depth", "--depths", "2,2"], "--depths: expected each item once, got 2 after 2"),
    (["prefilters", "--data", "shapes,shapes"], "--data: expected each item once"),
    (["cv", "--param", "init_scale=1,1.0"], "--param init_scale: expected each item once, got 1.0 after 1"),
    (["cv", "--param", "weight_init=he_normal,HE_NORMAL"], "--param weight_init: expected each item once"),
    (["demo", "--only", ",,,"], "--only: expected a comma-separated list without empty items"),
    (["demo", "--only", ""], "--only: expected a comma-separated list without empty items"),
])
def test_a_list_item_given_twice_or_empty_is_refused(capsys, tmp_path, argv, expected):
    status, out, err = run(capsys, *lab(argv[0], tmp_path, *argv[1:]))
    assert status == 2 and out == ""
    assert_one_line(err, expected)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ --out

def test_an_empty_out_is_refused_not_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("symmetry", "cv", "demo"):
        status, _, err = run(capsys, command, "--tiny", "--out", "")
        assert status == 2
        assert_one_line(err, "--out: expected a folder path, got an empty string")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where, expected", [
    ("{file}/out", ["--out:", "is an existing file, expected a folder"]),
    pytest.param("/proc/initlab-test-out", ["--out: expected a path where files can be written",
                                            "'/proc/initlab-test-out'", "writing in '/proc' failed"],
                 marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")),
])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(capsys, tmp_path, monkeypatch, where, expected):
    (tmp_path / "file").write_text("a file")
    ran = []
    monkeypatch.setattr(symmetry_study, "tasks", lambda *a, **kw: ran.append(1))
    status, _, err = run(capsys, "symmetry", "--tiny", "--out", where.format(file=tmp_path / "file"))
    assert status == 2 and not ran
    assert_one_line(err, *expected)


def test_a_run_that_fails_after_out_is_made_removes_only_the_folders_it_made(capsys, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise InvalidValueError("found only while running")
    monkeypatch.setattr(symmetry_study, "tasks", fail)
    status, _, err = run(capsys, "symmetry", "--tiny", "--out", str(tmp_path / "new" / "out"))
    assert status == 2 and "found only while running" in err
    assert list(tmp_path.iterdir()) == []
    mine = tmp_path / "mine"                 # an empty folder the user made is theirs: kept
    mine.mkdir()
    assert run(capsys, "symmetry", "--tiny", "--out", str(mine))[0] == 2
    assert mine.is_dir()


def test_demo_runs_a_study_named_twice_once():
    from initlab.cli.demo import chosen_studies
    assert chosen_studies("zero-mean,symmetry,zero_mean") == ["symmetry", "zero_mean"]


@pytest.mark.parametrize("argv, expected", [
    (["train", "--n", "60", "--epochs", "1", "--init", "he_normal\udcff"], "--init: initializer spec"),
    (["symmetry", "--tiny", "--inits", "zeros\udcff"], "--inits: initializer spec"),
    (["symmetry", "--tiny", "--out", "a\x00b"], "--out: expected a folder path, got 'a\\x00b', which holds a NUL"),
])
def test_arguments_that_are_not_text_are_one_line_errors(capsys, argv, expected):
    """Bytes that are not UTF-8 reach Python as lone surrogates; they raised UnicodeEncodeError."""
    status, _, err = run(capsys, *argv)
    assert status == 2 and expected in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv, expected", [
    (["propagate", "--tiny", "--lr", "-1", "--batch", "100000"], "--lr: expected a value in (0, inf), got -1"),
    (["depth", "--tiny", "--lr", "-1", "--steps", "0"], "--steps: expected an integer >= 1, got 0"),
    (["prefilters", "--tiny", "--width", "0", "--kernel-size", "99"], "--width: expected an integer >= 1, got 0"),
])
def test_with_two_bad_options_the_error_still_names_a_flag(capsys, tmp_path, argv, expected):
    """No single default makes the check pass then: the option is the keyword the message names."""
    status, _, err = run(capsys, *argv, "--out", str(tmp_path / "out"))
    assert status == 2 and expected in err, err


@pytest.mark.parametrize("argv, expected", [
    (["train", "--lr", "-inf"], "--lr: expected a finite real number, got -inf"),
    (["train", "--checkpoint-every", "-1e"], "--checkpoint-every: expected N steps or Ne epochs"),
    (["symmetry", "--tiny", "--seeds", "-1,"], "expected a count >= 1 or a list of seeds >= 0, got '-1,'"),
])
def test_a_value_starting_with_minus_is_checked_as_a_value(capsys, tmp_path, argv, expected):
    """argparse read these as options and said 'expected one argument'."""
    status, _, err = run(capsys, *argv, *(["--out", str(tmp_path / "o")] if argv[0] == "symmetry" else []))
    assert status == 2 and expected in err, err


def test_cv_names_dataset_for_a_broken_mnist_folder(capsys, tmp_path):
    from test_data import write_fake_mnist
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_fake_mnist(folder, n_train=40, n_test=10)
    labels = folder / "train-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[2] = 0x0C                                      # uint8 labels declared int32: truncated
    labels.write_bytes(bytes(raw))
    status, _, err = run(capsys, "cv", "--tiny", "--dataset", f"mnist:{folder}", "--out", str(tmp_path / "o"))
    assert status == 1 and err.startswith("initlab: error: --dataset: IDX file"), err
    assert not (tmp_path / "o").exists()
