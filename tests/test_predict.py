"""Using a trained model: model_fn in predict mode, predict.py, export.py and the SavedModel.

The exported model is loaded in a plain TensorFlow 2 process and must give what
predict.py gives. The input of both is tests/test_predict_input.py's; the resizing
in their graph, tests/test_image_resize.py's.
"""
import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import evaluate
import export
import predict
from examples import example_of
from helpers import drain, run, write_params
from helpers.images import exif_bytes
from model.core.checkpoints import restore
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.model_fn import model_fn
from model.utils import Params
from vision.example import class_names, list_inputs
from vision.image_files import list_images

# -----------------------------------------------------------------------------
# model_fn in predict mode, and what predict.py and export.py add

def fake_images(params, batch=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, params.image_size, params.image_size, 3), dtype=np.float32)


def test_predict_model_fn_gives_probabilities_and_the_eval_predictions(params):
    images = fake_images(params)
    shape = [None, params.image_size, params.image_size, 3]
    with tf.Graph().as_default():
        inputs = {'images': tf.placeholder_with_default(images, shape), 'labels': tf.zeros([len(images)], tf.int32)}
        train_spec = model_fn('train', inputs, params)
        eval_spec = model_fn('eval', inputs, params, reuse=True)
        variables = tf.global_variables()
        placeholder = tf.placeholder(tf.float32, shape)
        predict_spec = model_fn('predict', {'images': placeholder}, params, reuse=True)
        # No new weights, no loss, no metrics, no summaries: the network and its outputs.
        assert tf.global_variables() == variables
        assert set(predict_spec) == {'images', 'predictions', 'probabilities', 'variable_init_op'}
        assert predict_spec['predictions'].dtype == tf.int64
        assert predict_spec['probabilities'].get_shape().as_list() == [None, params.num_labels]
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            for _ in range(3):
                sess.run(train_spec['train_op'])  # batch norm statistics move away from their start
            predictions, probabilities = sess.run([predict_spec['predictions'], predict_spec['probabilities']],
                                                  {placeholder: images})
            eval_predictions = sess.run(eval_spec['predictions'])
    assert probabilities.shape == (5, params.num_labels)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(predictions, probabilities.argmax(axis=1))
    np.testing.assert_array_equal(predictions, eval_predictions)


def test_class_names(params, tmp_path):
    assert class_names(params) == ['0', '1', '2', '3', '4', '5']
    json_path = write_params(str(tmp_path / 'named'), class_names=['fist', 'one', 'two', 'three', 'four', 'five'])
    assert class_names(Params(json_path))[5] == 'five'
    json_path = write_params(str(tmp_path / 'short'), class_names=['a', 'b'])
    with pytest.raises(InputError, match="'class_names' lists 2 names but 'num_labels' is 6"):
        class_names(Params(json_path))
    json_path = write_params(str(tmp_path / 'numbers'), class_names=[0, 1, 2, 3, 4, 5])
    with pytest.raises(InputError, match="'class_names' must be a list of non-empty strings"):
        Params(json_path)
    json_path = write_params(str(tmp_path / 'text'), class_names='0,1,2,3,4,5')
    with pytest.raises(InputError, match="'class_names' must be a list, got '0,1,2,3,4,5'$"):
        Params(json_path)


def test_list_inputs(tmp_path):
    folder = tmp_path / 'photos'
    folder.mkdir()
    for name in ('b.PNG', 'a.jpg', '.hidden.jpg', 'notes.txt'):
        (folder / name).write_bytes(b'x')
    single = tmp_path / 'single.jpeg'
    single.write_bytes(b'x')
    assert list_inputs([str(single), str(folder)]) == [
        str(single), str(folder / 'a.jpg'), str(folder / 'b.PNG')]
    with pytest.raises(InputError, match='No file or folder .*missing.jpg'):
        list_inputs([str(single), str(tmp_path / 'missing.jpg')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='No images to predict'):
        list_inputs([str(tmp_path / 'empty')])


def test_next_version_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert export.next_version_dir('experiments/base_model/') == os.path.join('exported', 'base_model', '1')
    for name in ('1', '7', 'notes', '.export-tmp'):
        os.makedirs(os.path.join('exported', 'base_model', name))
    assert export.next_version_dir('experiments/base_model') == os.path.join('exported', 'base_model', '8')
    # The NER example's experiments live one level deeper: their exports must not mix with vision's.
    assert export.next_version_dir('experiments/ner/base_model') == os.path.join('exported', 'ner', 'base_model', '1')
    assert export.next_version_dir(str(tmp_path / 'elsewhere' / 'mine')) == os.path.join('exported', 'mine', '1')


# -----------------------------------------------------------------------------
# The scripts, as a user runs them

@pytest.fixture(scope='module')
def trained_by_script(data_dir, tmp_path_factory):
    """A tiny model trained by running python train.py, as a user would (two epochs)."""
    model_dir = str(tmp_path_factory.mktemp('predict') / 'my model')
    write_params(model_dir)
    run('train.py', '--model_dir', model_dir, '--data_dir', data_dir)
    return model_dir


@pytest.fixture(scope='module')
def new_images(raw_dir, tmp_path_factory):
    """Photos as a user would bring them, and one file that is not a picture."""
    folder = tmp_path_factory.mktemp('new images')
    source = Image.open(os.path.join(raw_dir, 'test_signs', sorted(os.listdir(os.path.join(raw_dir, 'test_signs')))[0]))
    # A large phone photo stored sideways, with the EXIF note to turn it upright.
    source.rotate(90, expand=True).resize((900, 1200), Image.BILINEAR).save(
        folder / 'phone photo.jpg', quality=92, exif=exif_bytes(6))
    source.save(folder / 'sign.png')
    source.convert('L').save(folder / 'gray.png')
    source.convert('RGBA').save(folder / 'rgba.png')
    (folder / 'broken.jpg').write_text('this is not an image')
    return [str(folder / name) for name in ('phone photo.jpg', 'sign.png', 'gray.png', 'rgba.png', 'broken.jpg')]


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def predicted(trained_by_script, new_images, data_dir, tmp_path_factory):
    """predict.py run once on the new images and the test folder, with --output: (result, readable files, CSV rows)."""
    test_dir = os.path.join(data_dir, 'test_signs')
    output = str(tmp_path_factory.mktemp('predicted') / 'predictions.csv')
    result = run('predict.py', '--model_dir', trained_by_script, *new_images, test_dir, '--output', output)
    return result, new_images[:4] + list_images(test_dir, 6)[0], read_csv(output)


@pytest.mark.slow
def test_predict_script(predicted, new_images):
    result, readable, rows = predicted
    lines = result.stdout.splitlines()
    assert [line.rsplit(': ', 1)[0] for line in lines] == readable
    assert "Skipped {}: it could not be read as an image".format(new_images[4]) in result.stderr
    assert 'Traceback' not in result.stderr

    assert rows[0] == ['file', 'label'] + ['probability_{}'.format(i) for i in range(6)]
    assert [row[0] for row in rows[1:]] == readable
    for line, row in zip(lines, rows[1:], strict=False):
        probabilities = np.array(row[2:], dtype=np.float32)
        assert probabilities.sum() == pytest.approx(1, abs=1e-5)
        assert row[1] == str(probabilities.argmax())
        assert line == '{}: {} ({:.3f})'.format(row[0], row[1], probabilities.max())


@pytest.mark.slow
def test_predict_agrees_with_evaluate_on_the_test_set(trained_by_script, data_dir):
    """predict.py on the built test images sees what evaluate.py sees: per file, the same probabilities."""
    params = Params(os.path.join(trained_by_script, 'params.json'))
    example = example_of(params)
    (filenames, labels), size = example.load_split(data_dir, 'test', params)
    # evaluate.py's graph, with the softmax of the logits its predictions are the argmax of.
    with tf.Graph().as_default():
        spec = example.model_fn('eval', example.input_fn(False, (filenames, labels), params), params)
        probabilities = tf.nn.softmax(spec['predictions'].op.inputs[0])
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            restore(sess, 'best_weights', trained_by_script)
            sess.run(spec['iterator_init_op'])
            batches = drain(sess, [probabilities, spec['labels']])
    evaluated = np.concatenate([batch[0] for batch in batches])
    assert evaluated.shape == (size, 6) and np.concatenate([batch[1] for batch in batches]).tolist() == labels

    results = predict.main(predict.parser.parse_args(
        ['--model_dir', trained_by_script, os.path.join(data_dir, 'test_signs')]))
    assert list(results) == filenames
    for filename, expected in zip(filenames, evaluated, strict=True):
        label, got = results[filename]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=filename)
        assert label == expected.argmax()
    metrics = evaluate.main(argparse.Namespace(model_dir=trained_by_script, data_dir=data_dir,
                                               restore_from='best_weights'))
    assert np.mean(evaluated.argmax(axis=1) == labels) == pytest.approx(metrics['accuracy'], abs=1e-6)


@pytest.mark.slow
def test_predict_and_export_errors(trained_by_script, new_images, tmp_path):
    def predict_main(*args):
        return predict.main(predict.parser.parse_args(['--model_dir', trained_by_script, *args]))

    with pytest.raises(InputError, match=r'^None of the 1 file\(s\) could be read as an image$'):
        predict_main(new_images[4])
    with pytest.raises(InputError, match='No weights found'):
        predict_main('--restore_from', 'nothing', new_images[0])
    with pytest.raises(InputError, match='No params.json found'):
        predict.main(predict.parser.parse_args(['--model_dir', str(tmp_path), new_images[0]]))

    (tmp_path / '3').mkdir()
    with pytest.raises(InputError, match='already exists: export to a new version folder'):
        export.main(export.parser.parse_args(['--model_dir', trained_by_script, '--export_dir', str(tmp_path / '3')]))
    assert os.listdir(tmp_path / '3') == []


# A plain TensorFlow 2 program, as a client of the export would be: eager, Keras 3 (no
# TF_USE_LEGACY_KERAS), nothing from this repository imported.
TF2_CLIENT = '''
import json, os, sys
assert 'TF_USE_LEGACY_KERAS' not in os.environ
import tensorflow as tf
assert tf.executing_eagerly()

export_dir, files = sys.argv[1], sys.argv[2:]
model = tf.saved_model.load(export_dir)
serve = model.signatures['serving_default']
images = []
for name in files:
    with open(name, 'rb') as f:
        images.append(f.read())
outputs = serve(image_bytes=tf.constant(images))
try:
    serve(image_bytes=tf.constant([b'this is not an image']))
    rejected = False
except tf.errors.InvalidArgumentError:
    rejected = True
print(json.dumps({'labels': [label.decode() for label in outputs['labels'].numpy()],
                  'classes': outputs['classes'].numpy().tolist(),
                  'probabilities': outputs['probabilities'].numpy().tolist(),
                  'rejected': rejected}))
'''


@pytest.mark.slow
def test_export_serves_the_predictions_of_predict_in_plain_tf2(trained_by_script, predicted, tmp_path):
    _, files, rows = predicted
    predicted_rows = {row[0]: row for row in rows[1:]}

    export_dir = str(tmp_path / 'exported' / 'my model' / '1')
    exported = run('export.py', '--model_dir', trained_by_script, '--restore_from', 'best_weights',
                   '--export_dir', export_dir)
    assert 'SavedModel written to {}'.format(export_dir) in exported.stderr
    assert os.listdir(os.path.dirname(export_dir)) == ['1']  # no temporary folder left beside it
    assert sorted(os.listdir(export_dir)) == ['saved_model.pb', 'variables']

    cli = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
    shown = subprocess.run([cli, 'show', '--dir', export_dir, '--all'], capture_output=True, text=True, check=True)
    for expected in ("signature_def['serving_default']", "inputs['image_bytes']", 'dtype: DT_STRING',
                     "outputs['probabilities']", 'shape: (-1, 6)', "outputs['classes']", 'dtype: DT_INT64',
                     "outputs['labels']", 'Method name is: tensorflow/serving/predict'):
        assert expected in shown.stdout, expected

    env = {key: value for key, value in os.environ.items() if key != 'TF_USE_LEGACY_KERAS'}
    client = subprocess.run([sys.executable, '-c', TF2_CLIENT, export_dir, *files], capture_output=True,
                            text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert client.returncode == 0, client.stderr
    served = json.loads(client.stdout.strip().splitlines()[-1])
    assert served['rejected']
    assert served['labels'] == [predicted_rows[f][1] for f in files]
    assert served['labels'] == [str(c) for c in served['classes']]
    expected = [np.array(predicted_rows[f][2:], dtype=np.float32) for f in files]
    np.testing.assert_allclose(served['probabilities'], expected, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_a_truncated_jpeg_is_skipped_with_our_word_only(trained, data_dir, tmp_path):
    """libjpeg's own complaint ('Input file read error', 'Improper call to JPEG library') never reaches the user."""
    source = os.path.join(data_dir, 'test_signs', sorted(os.listdir(os.path.join(data_dir, 'test_signs')))[0])
    truncated = tmp_path / 'truncated.jpg'
    with open(source, 'rb') as f:
        truncated.write_bytes(f.read()[:600])
    result = run('predict.py', '--model_dir', trained, str(truncated), source)
    assert 'Skipped {}: it could not be read as an image'.format(truncated) in result.stderr
    assert 'JPEG library' not in result.stderr and 'Input file read error' not in result.stderr
    assert os.path.basename(source) in result.stdout
