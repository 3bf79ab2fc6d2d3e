"""The peer of ner_worker.py: the same NER network trained with Keras 3 `model.fit` on the same batches.

Run by bench.py in its own process, without TF_USE_LEGACY_KERAS (it would make tf.keras Keras 2);
prints one JSON line.
    python benchmarks/ner_keras_worker.py --batches BATCHES.npz --params PARAMS_JSON --vocab DATA_DIR [--epochs 4]

The network is ner/network.py's bilstm_char_crf written with Keras layers: word embeddings, a
character CNN max-pooled over each word's real characters, casing embeddings, dropout, a
bidirectional LSTM over the real tokens, dropout, a dense layer, and the same linear-chain CRF
loss (ner/crf.py's functions, whose ops are the same in TF2). The batches are the ones our
pipeline made (ner_worker.py wrote them), so both sides do the same work per step; Keras is
spared the input pipeline. Like ours (train.py's training metrics) and like the vision peer
(keras_worker.py's metrics=['accuracy']), it tracks the training accuracy: the tags the CRF decodes
(ner/crf.py's Viterbi) against the gold ones, on the real tokens.
"""
import argparse
import json
import os
import sys
import types

if os.environ.get('TF_USE_LEGACY_KERAS'):
    sys.exit("ner_keras_worker.py measures Keras 3: run it without TF_USE_LEGACY_KERAS in the environment")
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras_timing import EpochTimer  # noqa: E402 (benchmarks/, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# ner/crf.py takes its `tf` from model/core/tf_compat.py, which sets up TF1 graph mode for the whole
# process; its ops exist as they are in TF2, so it gets TF2's own module here instead.
sys.modules['model.core.tf_compat'] = types.SimpleNamespace(tf=tf)
from model.utils import Params  # noqa: E402 (no TensorFlow in it: the params.json checks and defaults)
from ner.crf import crf_decode, crf_log_likelihood  # noqa: E402

SEED = 230
FEATURES = ('sentence', 'chars', 'casing', 'sentence_lengths', 'labels')
NUM_CASINGS = 8  # ner/features.py's CASINGS

parser = argparse.ArgumentParser()
parser.add_argument('--batches', required=True, help="The .npz ner_worker.py wrote")
parser.add_argument('--params', required=True, help="The params.json of the model")
parser.add_argument('--vocab', required=True, help="The data set's folder, for dataset_params.json")
parser.add_argument('--epochs', type=int, default=4, help="Epochs of fit; the first is the warm-up")


def load_batches(path):
    data = np.load(path)
    count = len([key for key in data.files if key.startswith('labels_')])
    return [{name: data['{}_{}'.format(name, i)] for name in FEATURES} for i in range(count)]


class CharFeatures(keras.layers.Layer):
    """Character CNN over each word, max-pooled over its real characters (id 0 is padding)."""

    def __init__(self, params, char_vocab_size):
        super().__init__()
        self.embedding = keras.layers.Embedding(char_vocab_size, params['char_embedding_size'])
        self.conv = keras.layers.Conv1D(params['char_filters'], params['char_kernel_size'], padding='same',
                                        activation='relu')
        self.filters = params['char_filters']

    def call(self, chars):
        shape = tf.shape(chars)
        words = tf.reshape(chars, [-1, shape[2]])
        is_char = tf.expand_dims(tf.cast(tf.not_equal(words, 0), tf.float32), 2)
        pooled = tf.reduce_max(self.conv(self.embedding(words) * is_char) * is_char, axis=1)
        return tf.reshape(pooled, [shape[0], shape[1], self.filters])


class Tagger(keras.Model):
    """bilstm_char_crf; trained on the mean negative CRF log-likelihood per sentence."""

    def __init__(self, params, dataset_params):
        super().__init__()
        self.word_embedding = keras.layers.Embedding(dataset_params['vocab_size'], params['embedding_size'])
        self.char_features = CharFeatures(params, dataset_params['char_vocab_size'])
        self.casing_embedding = keras.layers.Embedding(NUM_CASINGS, params['casing_embedding_size'])
        self.dropout = keras.layers.Dropout(params['dropout_rate'])
        self.bilstm = keras.layers.Bidirectional(keras.layers.LSTM(params['lstm_num_units'], return_sequences=True))
        self.dense = keras.layers.Dense(dataset_params['number_of_tags'])
        self.transitions = self.add_weight(shape=(dataset_params['number_of_tags'],) * 2, initializer='zeros',
                                           name='transition_params')
        # Keras 3 reports the compiled loss tracker, not a train_step's own 'loss' entry: track it here.
        self.loss_tracker = keras.metrics.Mean(name='loss')
        self.accuracy_tracker = keras.metrics.Accuracy(name='accuracy')

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, batch, training=False):
        features = tf.concat([self.word_embedding(batch['sentence']), self.char_features(batch['chars']),
                              self.casing_embedding(batch['casing'])], axis=2)
        mask = tf.sequence_mask(batch['sentence_lengths'], tf.shape(batch['sentence'])[1])
        output = self.bilstm(self.dropout(features, training=training), mask=mask, training=training)
        return self.dense(self.dropout(output, training=training))

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            logits = self(batch, training=True)
            loss = -tf.reduce_mean(crf_log_likelihood(logits, batch['labels'], batch['sentence_lengths'],
                                                      self.transitions))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        tags, _ = crf_decode(logits, self.transitions, batch['sentence_lengths'])
        real = tf.sequence_mask(batch['sentence_lengths'], tf.shape(batch['labels'])[1])
        self.accuracy_tracker.update_state(batch['labels'], tf.cast(tags, batch['labels'].dtype), sample_weight=real)
        return {'loss': self.loss_tracker.result(), 'accuracy': self.accuracy_tracker.result()}


def main(args):
    params = Params(args.params).dict
    with open(os.path.join(args.vocab, 'dataset_params.json')) as f:
        dataset_params = json.load(f)
    keras.utils.set_random_seed(SEED)
    batches = load_batches(args.batches)
    signature = {name: tf.TensorSpec([None] * batches[0][name].ndim, batches[0][name].dtype) for name in FEATURES}
    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature).repeat().prefetch(1)
    model = Tagger(params, dataset_params)
    model.compile(optimizer=keras.optimizers.Adam(params['learning_rate']))
    timer = EpochTimer()
    history = model.fit(dataset, epochs=args.epochs, steps_per_epoch=len(batches), verbose=0, callbacks=[timer])
    print(json.dumps({'keras_train': timer.times[1:], 'warmup': timer.times[0], 'keras_version': keras.__version__,
                      'jit_compile': bool(model.jit_compile), 'final_loss': float(history.history['loss'][-1]),
                      'final_accuracy': float(history.history['accuracy'][-1]),
                      'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(TensorFlow default)')}))


if __name__ == '__main__':
    main(parser.parse_args())
