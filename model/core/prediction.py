"""Use a trained model: predictions on new images (predict.py) and a SavedModel for serving (export.py)."""
import csv
import os
import shutil
import tempfile

from model.core.checkpoints import restore
from model.core.errors import InputError
from model.core.files import current_umask, write_atomically
from model.core.tf_compat import tf


def run_predictions(model_spec, keys, model_dir, restore_from):
    """Restore the weights, then yield the values of model_spec[key] for `keys`, batch by batch, to the end
    of the predict pipeline. Every weight is checked to fit before anything is computed."""
    fetches = [model_spec[key] for key in keys]
    with tf.Session() as sess:
        sess.run(model_spec['variable_init_op'])  # the NER example's lookup tables; restored weights overwrite the rest
        restore(sess, restore_from, model_dir)
        sess.run(model_spec['iterator_init_op'])
        while True:
            try:
                yield sess.run(fetches)
            except tf.errors.OutOfRangeError:
                return


def display_name(filename):
    """A file name as it can be printed and written to UTF-8: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(filename).decode('utf-8', 'backslashreplace')


def check_output_path(path):
    """Before any prediction is computed: an --output path that cannot be written is a one-line InputError."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError("--output {} is a folder: give a file name, such as {}".format(
            path, os.path.join(path, 'predictions.csv')))
    if not os.path.isdir(folder):
        raise InputError("--output {}: the folder {} does not exist; create it first or write elsewhere".format(
            path, folder))
    if not os.access(folder, os.W_OK):
        raise InputError("--output {}: the folder {} is not writable; write elsewhere".format(path, folder))


def write_predictions_csv(csv_path, filenames, results, names):
    """One row per image read: file, label, then the probability of each class, written atomically."""
    def write(f):
        writer = csv.writer(f)
        writer.writerow(['file', 'label'] + ['probability_' + name for name in names])
        for filename in filenames:
            if filename in results:
                prediction, probabilities = results[filename]
                # str() of a float32 is its shortest exact form: the CSV keeps every digit the model gave.
                writer.writerow([display_name(filename), names[prediction]] + [str(p) for p in probabilities])
    write_atomically(csv_path, write, newline='')


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
        os.chmod(tmp_dir, 0o777 & ~current_umask())
        signature = tf.saved_model.predict_signature_def(inputs, outputs)
        builder = tf.saved_model.Builder(tmp_dir)
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            restore(sess, restore_from, model_dir)
            builder.add_meta_graph_and_variables(
                sess, [tf.saved_model.SERVING], strip_default_attrs=True,
                signature_def_map={tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature},
                # The files the graph reads when loaded (the NER example's vocabularies, which its
                # lookup tables record in ASSET_FILEPATHS) are copied into the SavedModel's assets/,
                # and main_op fills the tables from those copies: the SavedModel is self-contained.
                assets_collection=tf.get_collection(tf.GraphKeys.ASSET_FILEPATHS),
                main_op=tf.tables_initializer())
        builder.save()
        os.rename(tmp_dir, export_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
