"""evaluate.py's refusals: no weights, weights that are not there, an image it cannot read."""
import os
import re

import pytest

import evaluate
from helpers import copy_of, listing, run, script_args, with_extra_file, write_params
from model.core.errors import InputError


def test_evaluate_without_weights_names_what_it_looked_for(data_dir, tmp_path):
    model_dir = str(tmp_path / 'untrained')
    write_params(model_dir)
    with pytest.raises(InputError, match='untrained/best_weights holds no checkpoint .*Train first'):
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))


def test_evaluate_with_a_restore_from_that_does_not_exist(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    missing = os.path.join(model_dir, 'last_weights', 'after-epoch-9')
    with pytest.raises(InputError, match='No weights found at {}'.format(re.escape(missing))):
        evaluate.main(script_args(model_dir, data_dir, missing))
    with pytest.raises(InputError, match='No weights found at {}:'.format(
            re.escape(os.path.join(model_dir, 'best_weight')))):
        evaluate.main(script_args(model_dir, data_dir, 'best_weight'))
    assert not [name for name in listing(model_dir) if name.startswith('metrics_test')]


def test_undecodable_image_at_evaluation_is_named(trained, data_dir, tmp_path):
    bad_data = with_extra_file(data_dir, tmp_path, 'test_signs', '1_IMG_empty.jpg', b'')
    model_dir = copy_of(trained, tmp_path)
    with pytest.raises(InputError, match=re.escape(os.path.join(bad_data, 'test_signs', '1_IMG_empty.jpg'))):
        evaluate.main(script_args(model_dir, bad_data, 'best_weights'))
    assert not os.path.exists(os.path.join(model_dir, 'metrics_test_best_weights.json'))


@pytest.mark.slow
def test_evaluate_py_without_weights_exits_2_naming_what_it_looked_for(data_dir, tmp_path):
    model_dir = str(tmp_path / 'untrained')
    write_params(model_dir)
    result = run('evaluate.py', '--model_dir', model_dir, '--data_dir', data_dir, check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('Error:')]
    assert errors == ['Error: {} holds no checkpoint (no after-epoch-N.index): nothing was saved there yet (a run '
                      'stopped before the end of its first epoch saves nothing). Train first, without '
                      '--restore_from: python train.py --model_dir {}'.format(os.path.join(model_dir, 'best_weights'),
                                                                              model_dir)]
    assert result.stderr.rstrip().endswith(errors[0])


