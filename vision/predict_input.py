"""The vision input pipeline in predict mode: new images without labels, for predict.py and export.py.

A new photo of any size first goes through build_dataset.py's resizing (done in the
graph, see vision/image_resize.py), then through the same decoding as evaluation
(model/input_fn.py).
"""
from model.core.tf_compat import tf
from model.input_fn import decode, to_float_and_resize
from vision.image_files import file_bytes
from vision.image_resize import resize_like_build_dataset


def decode_new_image(image_string, params):
    """An encoded image of any size (JPEG, PNG...) -> the float image the model takes, prepared as in training."""
    built = resize_like_build_dataset(image_string, params.dataset_image_size)
    return to_float_and_resize(decode(built), params.image_size)

def predict_input_fn(filenames, params):
    """Batches of the images in `filenames`, in order, without labels and without augmentation.

    A file that cannot be decoded as an image is left out of the batches instead of
    stopping the run: the `filenames` returned next to the `images` say which were read.

    Returns:
        inputs: (dict) with the `images`, their `filenames` and the `iterator_init_op`
    """
    read_fn = lambda filename: (filename, decode_new_image(tf.read_file(filename), params))
    dataset = (tf.data.Dataset.from_tensor_slices(tf.constant(file_bytes(filenames), tf.string))
               .map(read_fn, num_parallel_calls=params.num_parallel_calls)
               .ignore_errors()  # an unreadable file: predict.py names it
               .batch(params.batch_size)
               .prefetch(1)
               )
    iterator = tf.data.make_initializable_iterator(dataset)
    read_filenames, images = iterator.get_next()
    return {'images': images, 'filenames': read_filenames, 'iterator_init_op': iterator.initializer}


def serving_input_fn(params):
    """The input of the exported model: a batch of encoded images (JPEG or PNG bytes, any size).

    Returns:
        inputs: (dict) with the `image_bytes` placeholder and the `images` the model takes
    """
    image_bytes = tf.placeholder(tf.string, [None], name='image_bytes')
    images = tf.map_fn(lambda image_string: decode_new_image(image_string, params), image_bytes,
                       fn_output_signature=tf.float32, back_prop=False)
    return {'image_bytes': image_bytes, 'images': images}


def whole_images(filenames):
    """The files Pillow decodes whole (at a small draft scale, so big photos cost little).

    A damaged file is left out here, and predict.py names it, rather than fed to TensorFlow's
    JPEG decoder, which prints libjpeg's own complaint on the terminal before failing.
    """
    import warnings

    from PIL import Image
    whole = []
    for filename in filenames:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)  # a big photo is no threat here
            try:
                with Image.open(filename) as image:
                    image.draft('RGB', (64, 64))
                    image.load()
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                continue
        whole.append(filename)
    return whole
