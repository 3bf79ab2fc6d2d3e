"""Use a trained model: predictions on new images (predict.py) and a SavedModel for serving (export.py)."""
import csv
import logging
import os
import shutil
import tempfile

from model.checkpoints import find_checkpoint
from model.tf_compat import tf


def restore(sess, model_dir, restore_from):
    """Load the weights named by `restore_from` (see find_checkpoint) into the session's graph."""
    save_path = find_checkpoint(restore_from, model_dir)
    logging.info("Restoring parameters from {}".format(save_path))
    tf.train.Saver().restore(sess, save_path)
    return save_path


def predict(model_spec, model_dir, restore_from):
    """Run the predict graph (model_fn in 'predict' mode on predict_input_fn) over all its images.

    Returns:
        {filename: (predicted class, probabilities)} for the files that could be read
    """
    results = {}
    with tf.Session() as sess:
        restore(sess, model_dir, restore_from)
        sess.run(model_spec['iterator_init_op'])
        fetches = [model_spec['filenames'], model_spec['predictions'], model_spec['probabilities']]
        while True:
            try:
                filenames, predictions, probabilities = sess.run(fetches)
            except tf.errors.OutOfRangeError:
                break
            for filename, prediction, probability in zip(filenames, predictions, probabilities):
                results[os.fsdecode(filename)] = (int(prediction), probability)
    return results


def write_predictions_csv(csv_path, filenames, results, names):
    """One row per image read: file, label, then the probability of each class, written atomically."""
    folder = os.path.dirname(os.path.abspath(csv_path))
    fd, tmp_path = tempfile.mkstemp(prefix='.tmp-', suffix='.csv', dir=folder)
    try:
        with os.fdopen(fd, 'w', newline='', encoding='utf-8') as f:
            writer = csv.writer(f)
            writer.writerow(['file', 'label'] + ['probability_' + name for name in names])
            for filename in filenames:
                if filename in results:
                    prediction, probabilities = results[filename]
                    # str() of a float32 is its shortest exact form: the CSV keeps every digit the model gave.
                    writer.writerow([filename, names[prediction]] + [str(p) for p in probabilities])
        os.replace(tmp_path, csv_path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def export_saved_model(inputs, outputs, model_dir, restore_from, export_dir):
    """Write the current graph with the restored weights as a SavedModel in the new folder export_dir.

    The one signature, 'serving_default', maps the `inputs` tensors to the `outputs`
    ({name: tensor}). The SavedModel is written beside export_dir and renamed into place
    when complete: a server watching the parent folder never loads half of one.
    """
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    # Not a number: TensorFlow Serving takes only numbered folders for versions of a model.
    tmp_dir = tempfile.mkdtemp(prefix='.export-', dir=parent)
    try:
        # mkdtemp makes a private folder; a server running as another user must be able to read it.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_dir, 0o777 & ~umask)
        signature = tf.saved_model.predict_signature_def(inputs, outputs)
        builder = tf.saved_model.Builder(tmp_dir)
        with tf.Session() as sess:
            restore(sess, model_dir, restore_from)
            builder.add_meta_graph_and_variables(
                sess, [tf.saved_model.SERVING], strip_default_attrs=True,
                signature_def_map={tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature})
        builder.save()
        os.rename(tmp_dir, export_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
