"""train.py and evaluate.py called in-process on a tiny dataset: files, resume, refusals, determinism."""
import argparse
import os
import shutil

import pytest

import evaluate
import train
from conftest import copy_of, read_json, write_params
from model.tf_compat import tf
from model.training import TrainingDiverged
from model.errors import InputError


def train_args(model_dir, data_dir, restore_from=None):
    return argparse.Namespace(model_dir=model_dir, data_dir=data_dir, restore_from=restore_from)


def listing(folder):
    return sorted(os.listdir(folder))


def test_training_writes_checkpoints_metrics_logs_and_summaries(trained):
    assert listing(os.path.join(trained, 'last_weights')) == [
        'after-epoch-1.data-00000-of-00001', 'after-epoch-1.index', 'after-epoch-1.meta',
        'after-epoch-2.data-00000-of-00001', 'after-epoch-2.index', 'after-epoch-2.meta', 'checkpoint']
    best = tf.train.latest_checkpoint(os.path.join(trained, 'best_weights'))
    assert os.path.basename(best) in ('after-epoch-1', 'after-epoch-2')
    last_metrics = read_json(os.path.join(trained, 'metrics_eval_last_weights.json'))
    best_metrics = read_json(os.path.join(trained, 'metrics_eval_best_weights.json'))
    assert set(last_metrics) == {'accuracy', 'loss', 'epoch'} and last_metrics['epoch'] == 2
    assert best_metrics['epoch'] == int(best.rsplit('-', 1)[1])
    assert best_metrics['accuracy'] >= last_metrics['accuracy']
    log = open(os.path.join(trained, 'train.log')).read()
    assert 'Epoch 1/2' in log and 'Epoch 2/2' in log and '- Eval metrics: accuracy:' in log
    assert len(os.listdir(os.path.join(trained, 'train_summaries'))) == 1
    assert len(os.listdir(os.path.join(trained, 'eval_summaries'))) == 1
    # 96 training images in batches of 16: 6 steps an epoch.
    assert tf.train.load_variable(os.path.join(trained, 'last_weights', 'after-epoch-2'), 'global_step') == 12


def test_resume_trains_only_the_remaining_epochs(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    write_params(model_dir, num_epochs=3)
    train.main(train_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    log = open(os.path.join(model_dir, 'train.log')).read().split('Restoring parameters from')[1]
    assert 'Epoch 3/3' in log and 'Epoch 1/3' not in log and 'Epoch 2/3' not in log
    checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-3')
    assert tf.train.load_variable(checkpoint, 'global_step') == 18
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 3


def test_resume_keeps_a_better_best(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    best_json = os.path.join(model_dir, 'metrics_eval_best_weights.json')
    unbeatable = dict(read_json(best_json), accuracy=1.5)
    with open(best_json, 'w') as f:
        import json
        json.dump(unbeatable, f)
    best_before = listing(os.path.join(model_dir, 'best_weights'))
    write_params(model_dir, num_epochs=3)
    train.main(train_args(model_dir, data_dir, 'last_weights'))  # relative to model_dir works too
    assert read_json(best_json) == unbeatable
    assert listing(os.path.join(model_dir, 'best_weights')) == best_before


def test_resume_past_num_epochs_says_so(trained, data_dir):
    with pytest.raises(InputError, match='saved after epoch 2, and num_epochs in params.json is 2'):
        train.main(train_args(trained, data_dir, os.path.join(trained, 'last_weights')))


def test_training_over_existing_weights_is_refused_and_touches_nothing(trained, data_dir):
    before = {name: os.path.getmtime(os.path.join(trained, name)) for name in os.listdir(trained)}
    with pytest.raises(InputError, match='already holds weights.*--restore_from'):
        train.main(train_args(trained, data_dir))
    assert {name: os.path.getmtime(os.path.join(trained, name)) for name in os.listdir(trained)} == before


def test_same_seed_gives_identical_metrics(trained, data_dir, tmp_path):
    model_dir = str(tmp_path / 'again')
    write_params(model_dir)
    train.main(train_args(model_dir, data_dir))
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(trained, name))


@pytest.mark.parametrize('streamed_by', [{'cache_images': False}, {'cache_budget_mb': 0}])
def test_images_read_from_the_files_give_the_metrics_of_the_cache(trained, data_dir, tmp_path, streamed_by):
    """`trained` kept its images in memory; read from the files every epoch, the metrics are the same."""
    model_dir = str(tmp_path / 'streamed')
    write_params(model_dir, **streamed_by)
    train.main(train_args(model_dir, data_dir))
    log = open(os.path.join(model_dir, 'train.log')).read()
    assert 'Training images: read from the files every epoch' in log
    assert 'Training images: decoded once' in open(os.path.join(trained, 'train.log')).read()
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(trained, name))


def test_evaluate_writes_test_metrics(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    metrics = evaluate.main(train_args(model_dir, data_dir, 'best_weights'))
    assert read_json(os.path.join(model_dir, 'metrics_test_best_weights.json')) == metrics
    assert 0 <= metrics['accuracy'] <= 1
    evaluate.main(train_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights', 'after-epoch-1')))
    assert os.path.isfile(os.path.join(model_dir, 'metrics_test_after-epoch-1.json'))


def test_evaluate_without_weights_names_what_it_looked_for(data_dir, tmp_path):
    model_dir = str(tmp_path / 'untrained')
    write_params(model_dir)
    with pytest.raises(InputError, match='untrained/best_weights holds no checkpoint .*Train first'):
        evaluate.main(train_args(model_dir, data_dir, 'best_weights'))


def test_diverging_loss_stops_before_saving(data_dir, tmp_path):
    model_dir = str(tmp_path / 'nan')
    # With batch norm the loss becomes nan at any kernel choice; without it, oneDNN's kernels can
    # let every ReLU die instead and keep the loss finite (1e30).
    write_params(model_dir, learning_rate=1e30, use_batch_norm=True)
    with pytest.raises(TrainingDiverged, match='The loss became nan at epoch 1, step .*smaller learning_rate'):
        train.main(train_args(model_dir, data_dir))
    assert not os.path.exists(os.path.join(model_dir, 'last_weights'))


@pytest.mark.slow
def test_the_model_learns_the_synthetic_signs(tmp_path):
    """A few epochs of a narrow base model on a small synthetic set: far above chance (1/6)."""
    from build_dataset import build
    from model.synthetic_signs import write_synthetic_signs
    write_synthetic_signs(str(tmp_path / 'raw'), num_train=480, num_test=60, size=80)
    build(str(tmp_path / 'raw'), str(tmp_path / 'data'), jobs=1)
    model_dir = str(tmp_path / 'model')
    write_params(model_dir, num_channels=8, image_size=64, batch_size=32, num_epochs=10)
    train.main(train_args(model_dir, str(tmp_path / 'data')))
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['accuracy'] > 0.6
    test_metrics = evaluate.main(train_args(model_dir, str(tmp_path / 'data'), 'best_weights'))
    assert test_metrics['accuracy'] > 0.6
