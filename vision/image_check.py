"""Name the image that tf.data could not read.

When one file of a split cannot be decoded, TensorFlow stops with an InvalidArgumentError
that says what went wrong but not in which file. The scripts then call
`raise_for_bad_image` with the files of the splits in use: it decodes them one by one,
exactly as the input pipeline does, and turns the error into an InputError naming the
file. This only runs after such an error, so training itself pays nothing for it.
"""
from model.core.errors import InputError, tf_error_reason
from model.core.tf_compat import tf
from model.input_fn import decode


def find_bad_image(filenames):
    """(filename, what is wrong) for the first file TensorFlow cannot decode as an image, or None."""
    with tf.Graph().as_default():
        contents = tf.placeholder(tf.string)
        image = decode(contents)  # the input pipeline's own decoding
        with tf.Session() as sess:
            for filename in filenames:
                try:
                    with open(filename, 'rb') as f:
                        data = f.read()
                except OSError as e:
                    return filename, 'cannot be read ({})'.format(e.strerror)
                if not data:
                    return filename, 'is empty'
                try:
                    sess.run(image, {contents: data})
                except tf.errors.OpError as e:
                    return filename, 'cannot be decoded as an image ({})'.format(tf_error_reason(e.message))
    return None


def raise_for_bad_image(error, filenames, data_dir):
    """Raise an InputError naming the file behind `error` if one of `filenames` is unreadable; else return."""
    found = find_bad_image(filenames)
    if found is None:
        return
    filename, problem = found
    raise InputError("{} {}: delete or replace it, or build {} again with python build_dataset.py "
                     "--overwrite".format(filename, problem, data_dir)) from error
