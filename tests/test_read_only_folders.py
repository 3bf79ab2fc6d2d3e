"""Every script checks that it can write where it will, before it works: a read-only folder is one line, not a traceback.

The folders are made read-only for real: immutable (chattr +i), which stops root too.
"""
import contextlib
import os
import shlex
import shutil
import subprocess

import pytest

import evaluate
import export
import train
from helpers import copy_of, script_args, write_params
from model.core.errors import run_script


@contextlib.contextmanager
def read_only(folder):
    """`folder` immutable for the block: no file can be made, renamed or deleted in it."""
    if shutil.which('chattr') is None or subprocess.run(['chattr', '+i', folder], capture_output=True).returncode:
        pytest.skip('chattr +i is not available here')
    try:
        yield
    finally:
        subprocess.run(['chattr', '-i', folder], check=True)


def one_line_error(capsys, caplog, main, args):
    """The one line run_script reports (to stderr, or to the log once an earlier test set a logger)."""
    with pytest.raises(SystemExit) as exited:
        run_script(main, args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    lines = {line for line in err.splitlines() if line.startswith('Error:')}
    lines |= {r.getMessage() for r in caplog.records if r.getMessage().startswith('Error:')}
    assert len(lines) == 1, (err, lines)
    return lines.pop()


def listing(folder):
    return sorted(os.listdir(folder))


def test_train_in_a_read_only_experiment_folder_is_one_line(data_dir, tmp_path, capsys, caplog):
    model_dir = str(tmp_path / 'shared experiment')
    write_params(model_dir)
    with read_only(model_dir):
        line = one_line_error(capsys, caplog, train.main, script_args(model_dir, data_dir))
    assert model_dir in line and 'cannot be written' in line and "cp -r '{}'".format(model_dir) in line
    assert listing(model_dir) == ['params.json']


def test_evaluate_in_a_read_only_experiment_folder_is_one_line_and_changes_nothing(trained, data_dir, tmp_path,
                                                                                   capsys, caplog):
    model_dir = copy_of(trained, tmp_path)
    before = listing(model_dir)
    with read_only(model_dir):
        line = one_line_error(capsys, caplog, evaluate.main, script_args(model_dir, data_dir, 'best_weights'))
    assert model_dir in line and 'cannot be written' in line and 'cp -r {}'.format(shlex.quote(model_dir)) in line
    assert listing(model_dir) == before


def test_export_into_a_read_only_folder_is_one_line(trained, tmp_path, capsys, caplog):
    parent = str(tmp_path / 'served')
    os.makedirs(parent)
    with read_only(parent):
        line = one_line_error(capsys, caplog, export.main, script_args(trained, restore_from='best_weights',
                                                               export_dir=os.path.join(parent, '1')))
    assert parent in line and '--export_dir' in line
    assert listing(parent) == []


def test_a_write_refused_midway_is_one_line_too(tmp_path, capsys, caplog):
    folder = str(tmp_path / 'out')
    os.makedirs(folder)

    def main(args):
        with open(os.path.join(folder, 'metrics.json'), 'w') as f:
            f.write('{}')
    with read_only(folder):
        line = one_line_error(capsys, caplog, main, None)
    assert os.path.join(folder, 'metrics.json') in line and 'cannot be written' in line
