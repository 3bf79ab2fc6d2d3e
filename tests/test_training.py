"""model/training.py through train.py and evaluate.py, in-process on a tiny dataset: the files of a run, its
summaries, determinism, the best weights (resuming is tests/test_resume.py; refusals test_train.py, test_evaluate.py)."""
import glob
import math
import os

import numpy as np
import pytest

import evaluate
import train
from helpers import copy_of, listing, read_json, script_args, write_params
from helpers.training import assert_same_training, checkpoint_names, train_metrics_lines
from model.core.checkpoints import restore
from model.core.tf_compat import tf
from model.input_fn import input_fn
from model.model_fn import model_fn
from model.training import TrainingDiverged, save_epoch
from model.utils import Params
from vision.image_files import list_images


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
    # The best is the epoch of highest dev accuracy (the later one on a tie), as TensorBoard shows them. Here
    # epoch 2 scores below epoch 1: best weights saved every epoch, as with a bar that never rises, would be epoch 2's.
    accuracies = [value.simple_value for _, value in events(trained, 'eval_summaries') if value.tag == 'accuracy']
    assert len(accuracies) == 2 and best_metrics['accuracy'] == pytest.approx(max(accuracies))
    assert best_metrics['epoch'] == max(epoch for epoch in (1, 2) if accuracies[epoch - 1] == max(accuracies))
    log = open(os.path.join(trained, 'train.log')).read()
    assert 'Epoch 1/2' in log and 'Epoch 2/2' in log and '- Eval metrics: accuracy:' in log
    assert len(os.listdir(os.path.join(trained, 'train_summaries'))) == 1
    assert len(os.listdir(os.path.join(trained, 'eval_summaries'))) == 1
    # 96 training images in batches of 16: 6 steps an epoch.
    assert tf.train.load_variable(os.path.join(trained, 'last_weights', 'after-epoch-2'), 'global_step') == 12


def test_same_seed_gives_identical_metrics(trained, data_dir, tmp_path):
    model_dir = str(tmp_path / 'again')
    write_params(model_dir)
    train.main(script_args(model_dir, data_dir))
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(trained, name))


@pytest.mark.parametrize('streamed_by', [{'cache_images': False}, {'cache_budget_mb': 0}])
def test_images_read_from_the_files_give_the_metrics_of_the_cache(trained, data_dir, tmp_path, streamed_by):
    """`trained` kept its images in memory; read from the files every epoch, the metrics are the same."""
    model_dir = str(tmp_path / 'streamed')
    write_params(model_dir, **streamed_by)
    train.main(script_args(model_dir, data_dir))
    log = open(os.path.join(model_dir, 'train.log')).read()
    assert 'Training images: read from the files every epoch' in log
    assert 'Training images: decoded once' in open(os.path.join(trained, 'train.log')).read()
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(trained, name))


def test_evaluate_writes_test_metrics(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    metrics = evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    written = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert {name: written[name] for name in metrics} == metrics
    # Beside them, the table by class and the data set evaluated on (tests/test_reports.py, test_metrics_files.py).
    assert set(written) - set(metrics) == {'per_class', 'confusion_matrix', 'class_names', 'data_dir'}
    assert 0 <= metrics['accuracy'] <= 1
    evaluate.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights', 'after-epoch-1')))
    assert os.path.isfile(os.path.join(model_dir, 'metrics_test_after-epoch-1.json'))


def test_diverging_loss_stops_before_saving(data_dir, tmp_path):
    model_dir = str(tmp_path / 'nan')
    # With batch norm the loss becomes nan at any kernel choice; without it, oneDNN's kernels can
    # let every ReLU die instead and keep the loss finite (1e30).
    write_params(model_dir, learning_rate=1e30, use_batch_norm=True)
    with pytest.raises(TrainingDiverged, match='The loss became nan at epoch 1, step .*smaller learning_rate'):
        train.main(script_args(model_dir, data_dir))
    assert not os.path.exists(os.path.join(model_dir, 'last_weights'))


@pytest.mark.slow
def test_the_model_learns_the_synthetic_signs(tmp_path):
    """A few epochs of a narrow base model on a small synthetic set: far above chance (1/6)."""
    from build_dataset import build
    from vision.synthetic_signs import write_synthetic_signs
    write_synthetic_signs(str(tmp_path / 'raw'), num_train=480, num_test=60, size=80)
    build(str(tmp_path / 'raw'), str(tmp_path / 'data'), jobs=1)
    model_dir = str(tmp_path / 'model')
    write_params(model_dir, num_channels=8, image_size=64, batch_size=32, num_epochs=10)
    train.main(script_args(model_dir, str(tmp_path / 'data')))
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['accuracy'] > 0.6
    test_metrics = evaluate.main(script_args(model_dir, str(tmp_path / 'data'), 'best_weights'))
    assert test_metrics['accuracy'] > 0.6


# ---------------------------------------------------------------------------------------------
# Summaries every few steps
# ---------------------------------------------------------------------------------------------


def test_summaries_every_few_steps_train_the_same_and_write_those_steps(trained, data_dir, tmp_path):
    """save_summary_steps 4: a summary at steps 0 and 4 of each 6-step epoch; every step still trains and counts."""
    model_dir = str(tmp_path / 'sparse')
    write_params(model_dir, save_summary_steps=4)
    train.main(script_args(model_dir, data_dir))
    assert_same_training(model_dir, trained)
    assert train_metrics_lines(model_dir) == train_metrics_lines(trained)
    # The events carry the global step after the batch: 1 and 5, then 7 and 11.
    steps = [step for step, _ in train_events(model_dir, 'loss')]
    assert steps == [1, 5, 7, 11]
    assert train_events(model_dir, 'loss') == [(step, value) for step, value in train_events(trained, 'loss')
                                               if step in steps]


# ---------------------------------------------------------------------------------------------
# What TensorBoard shows, read back from the event files
# ---------------------------------------------------------------------------------------------

def events(model_dir, folder):
    """[(step, Summary.Value)] of the one event file in model_dir/folder, in the order written."""
    [path] = glob.glob(os.path.join(model_dir, folder, 'events.out.tfevents.*'))
    return [(event.step, value) for event in tf.train.summary_iterator(path) for value in event.summary.value]


def train_events(model_dir, tag):
    return [(step, value.simple_value) for step, value in events(model_dir, 'train_summaries') if value.tag == tag]


def test_tensorboard_learning_rate_follows_the_cosine_decay(trained):
    """learning_rate 5e-3 with use_cosine_decay over 2 epochs of 6 steps: half at step 6, 0 at step 12."""
    params = Params(os.path.join(trained, 'params.json'))
    assert params.use_cosine_decay and params.learning_rate == 5e-3
    total_steps = 12
    written = train_events(trained, 'learning_rate')
    assert [step for step, _ in written] == list(range(1, 13))
    # The rate of a step is computed before that step increments the global step.
    for step, value in written:
        expected = 0.5 * 5e-3 * (1 + math.cos(math.pi * (step - 1) / total_steps))
        assert value == pytest.approx(expected, rel=1e-5, abs=1e-9), step
    assert dict(written)[7] == pytest.approx(2.5e-3, rel=1e-6)


def decoded_pngs(images):
    """{tag: uint8 pixels} of image Summary.Values."""
    with tf.Graph().as_default(), tf.Session() as sess:
        encoded = tf.placeholder(tf.string, [])
        pixels = tf.image.decode_png(encoded)
        return {value.tag: sess.run(pixels, {encoded: value.image.encoded_image_string}) for value in images}


def as_summary_pixels(image):
    """A float image as TensorBoard's image summary stores it: scaled so that its largest value is 255."""
    return image * (255.0 / image.max())


def test_tensorboard_shows_the_input_images_and_the_mislabeled_dev_images(trained, data_dir):
    params = Params(os.path.join(trained, 'params.json'))
    filenames, labels = list_images(os.path.join(data_dir, 'train_signs'), params.num_labels)
    dev_filenames, dev_labels = list_images(os.path.join(data_dir, 'dev_signs'), params.num_labels)

    # Train: the first three images of each step's batch; at step 1, the first batch of epoch 1.
    train_images = decoded_pngs([value for step, value in events(trained, 'train_summaries')
                                 if step == 1 and value.image.encoded_image_string])
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        inputs = input_fn(True, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())  # the global step is 0, as in the first step
            sess.run(inputs['iterator_init_op'])
            first_batch = sess.run(inputs['images'])
    assert sorted(train_images) == ['train_image/image/{}'.format(i) for i in range(3)]
    for i in range(3):
        shown = train_images['train_image/image/{}'.format(i)]
        assert shown.shape == (params.image_size, params.image_size, 3)
        assert np.abs(shown - as_summary_pixels(first_batch[i])).max() <= 1, i

    # Eval, after epoch 2: the dev images of the first batch that the weights of epoch 2 mislabel,
    # under the label they were given (at most three per label); the confusion matrix beside them is
    # tests/test_reports.py's.
    eval_values = [value for step, value in events(trained, 'eval_summaries')
                   if step == 12 and value.image.encoded_image_string and value.tag != 'confusion_matrix']
    shown = decoded_pngs(eval_values)
    with tf.Graph().as_default():
        spec = model_fn('eval', input_fn(False, dev_filenames, dev_labels, params), params)
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            restore(sess, os.path.join(trained, 'last_weights', 'after-epoch-2'), trained)
            sess.run(spec['iterator_init_op'])
            images, batch_labels, predictions = sess.run([spec['images'], spec['labels'], spec['predictions']])
    expected = {}
    for label in range(params.num_labels):
        wrong = [image for image, truth, predicted in zip(images, batch_labels, predictions, strict=True)
                 if predicted == label and truth != label]
        expected.update({'incorrectly_labeled_{}/image/{}'.format(label, i): image for i, image in enumerate(wrong[:3])})
    assert expected and sorted(shown) == sorted(expected)
    for tag, image in expected.items():
        assert np.abs(shown[tag] - as_summary_pixels(image)).max() <= 1, tag




def test_a_tie_with_the_best_replaces_the_best_weights(tmp_path):
    """save_epoch: at least the best so far becomes the best (the later epoch on a tie); below it, not."""
    model_dir = str(tmp_path)
    with tf.Graph().as_default():
        tf.get_variable('w', initializer=0.0)
        last_saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)
        best_saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            best_eval = 0.0
            for epoch, accuracy in ((1, 0.5), (2, 0.5), (3, 0.25)):
                best_eval = save_epoch(sess, last_saver, best_saver, model_dir,
                                       {'accuracy': accuracy, 'loss': 1.0, 'epoch': epoch}, best_eval)
    assert best_eval == 0.5
    assert checkpoint_names(os.path.join(model_dir, 'best_weights')) == ['after-epoch-2']
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['epoch'] == 2
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 3
