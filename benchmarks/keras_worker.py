"""The peer: the base model's architecture trained with Keras 3 `model.fit`, on the same tf.data pipeline.

Run by bench.py in its own process, with TF_USE_LEGACY_KERAS removed from the environment
(that variable turns tf.keras into Keras 2 for the whole process); prints one JSON line.
    python benchmarks/keras_worker.py --data_dir DIR --params PARAMS_JSON [--epochs 6]

Keras runs as a user would run it: TF2 eager, `fit` compiling the training step into a
tf.function with its defaults (`jit_compile='auto'`: the JSON says what Keras made of it).
The pipeline is input_fn's, written again with TF2 names (model/input_fn.py cannot be
imported here: it sets TensorFlow up for TF1 graph code): decode and resize, cached in
memory if cache_images, the same seeded shuffle and stateless augmentation, the same
batch size, parallel calls and prefetch.
"""
import argparse
import json
import os
import sys

if os.environ.get('TF_USE_LEGACY_KERAS'):
    sys.exit("keras_worker.py measures Keras 3: run it without TF_USE_LEGACY_KERAS in the environment")
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras_timing import EpochTimer  # noqa: E402 (benchmarks/, beside this script)

SEED = 230

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', required=True, help="A built dataset (train_signs/)")
parser.add_argument('--params', required=True, help="The params.json of the model (bench.py passes the base model's)")
parser.add_argument('--epochs', type=int, default=6, help="Epochs of fit; the first is the warm-up")


def list_images(split_dir):
    names = sorted(n for n in os.listdir(split_dir) if n.lower().endswith(('.jpg', '.jpeg', '.png')))
    return [os.path.join(split_dir, n) for n in names], [int(n[0]) for n in names]


def parse(filename, label, size):
    image = tf.image.decode_image(tf.io.read_file(filename), channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    return tf.image.resize(image, [size, size]), label


def augment(index, example, seed, use_random_flip):
    image, label = example

    def uniform(draw, minval, maxval):
        return tf.random.stateless_uniform([], seed=tf.stack([seed, 3 * index + draw]), minval=minval, maxval=maxval)

    if use_random_flip:
        image = tf.cond(uniform(0, 0., 1.) < 0.5, lambda: tf.image.flip_left_right(image), lambda: image)
    image = image + uniform(1, -32. / 255., 32. / 255.)
    image = tf.image.adjust_saturation(image, uniform(2, 0.5, 1.5))
    return tf.clip_by_value(image, 0.0, 1.0), label


def train_dataset(filenames, labels, params):
    """input_fn(True, ...) for fit: one pass per epoch, a new shuffle each epoch (seeded once)."""
    calls = params['num_parallel_calls']
    dataset = tf.data.Dataset.from_tensor_slices((filenames, labels))
    parse_fn = lambda f, l: parse(f, l, params['image_size'])
    if params.get('cache_images', True):
        dataset = dataset.map(parse_fn, num_parallel_calls=calls).cache()
        dataset = dataset.shuffle(len(filenames), seed=SEED)
    else:
        dataset = dataset.shuffle(len(filenames), seed=SEED).map(parse_fn, num_parallel_calls=calls)
    seed = tf.constant(SEED, tf.int64)
    return (dataset.enumerate()
            .map(lambda i, e: augment(i, e, seed, params['use_random_flip']), num_parallel_calls=calls)
            .batch(params['batch_size'])
            .prefetch(1))


def build_model(params, train_size):
    """model_fn's baseline: 4 x (3x3 conv, batch norm, relu, 2x2 max pool), dense, batch norm, relu, dense."""
    layers = keras.layers
    c = params['num_channels']
    inputs = keras.Input((params['image_size'], params['image_size'], 3))
    out = inputs
    for channels in (c, 2 * c, 4 * c, 8 * c):
        out = layers.Conv2D(channels, 3, padding='same')(out)
        if params['use_batch_norm']:
            out = layers.BatchNormalization(momentum=params['bn_momentum'], epsilon=1e-3)(out)
        out = layers.MaxPooling2D(2)(layers.ReLU()(out))
    out = layers.Dense(8 * c)(layers.Flatten()(out))
    if params['use_batch_norm']:
        out = layers.BatchNormalization(momentum=params['bn_momentum'], epsilon=1e-3)(out)
    logits = layers.Dense(params['num_labels'])(layers.ReLU()(out))
    model = keras.Model(inputs, logits)
    learning_rate = params['learning_rate']
    if params.get('use_cosine_decay'):  # model_fn's learning_rate_schedule
        steps_per_epoch = -(-train_size // params['batch_size'])
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, params['num_epochs'] * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    return model


def main(args):
    with open(args.params) as f:
        params = json.load(f)
    keras.utils.set_random_seed(SEED)
    filenames, labels = list_images(os.path.join(args.data_dir, 'train_signs'))
    model = build_model(params, len(filenames))
    timer = EpochTimer()
    history = model.fit(train_dataset(filenames, labels, params), epochs=args.epochs, shuffle=False,
                        verbose=0, callbacks=[timer])
    print(json.dumps({'keras_train': timer.times[1:], 'warmup': timer.times[0], 'keras_version': keras.__version__,
                      'jit_compile': bool(model.jit_compile), 'final_accuracy': history.history['accuracy'][-1],
                      'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(TensorFlow default)')}))


if __name__ == '__main__':
    main(parser.parse_args())
