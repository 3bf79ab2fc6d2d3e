"""The NER example's evaluation in the graph: entity-level scores streamed over a pass, and dev sentences to read.

Used by ner/model_fn.py in its 'metrics' scope, as the tf.metrics are.
"""
import numpy as np

from model.core.tf_compat import tf
from ner.entities import count_entities_by_type, entity_types


def entity_metrics(labels, predictions, sentence_lengths, tag_names):
    """Entity-level precision, recall and F1 over a whole pass, as tf.metrics-style (value, update_op) pairs,
    and the counts by entity type [T, 3] (correct, predicted, gold) they are made of.

    An entity counts as found when its type and both its boundaries are right (CoNLL's
    conlleval definition): ner/entities.py counts, per batch, in Python (tf.py_func), and
    local variables sum the counts over the pass; metrics_init_op resets them.
    """
    types = entity_types(tag_names)

    def count(gold_ids, predicted_ids, lengths):
        gold = [[tag_names[i] for i in row[:n]] for row, n in zip(gold_ids, lengths, strict=True)]
        predicted = [[tag_names[i] for i in row[:n]] for row, n in zip(predicted_ids, lengths, strict=True)]
        return np.array(count_entities_by_type(gold, predicted, types), np.int64).reshape([len(types), 3])

    counts = tf.py_func(count, [labels, predictions, sentence_lengths], tf.int64, stateful=False)
    by_type = tf.Variable(tf.zeros([len(types), 3], tf.int64), trainable=False, name='entity_counts',
                          collections=[tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.METRIC_VARIABLES])
    update = tf.assign_add(by_type, tf.reshape(counts, [len(types), 3]))
    correct, predicted, gold = tf.unstack(tf.cast(tf.reduce_sum(by_type, axis=0), tf.float64))
    precision = tf.where(predicted > 0, correct / tf.maximum(predicted, 1.), tf.constant(0., tf.float64))
    recall = tf.where(gold > 0, correct / tf.maximum(gold, 1.), tf.constant(0., tf.float64))
    f1 = tf.where(precision + recall > 0, 2 * precision * recall / tf.maximum(precision + recall, 1e-12),
                  tf.constant(0., tf.float64))
    return {'precision': (precision, update), 'recall': (recall, update), 'f1': (f1, update)}, by_type


def tagged_sentences_summary(inputs, predictions, tag_names, number=3):
    """A text summary of the first sentences of a batch: a table of each token with its gold and predicted tags.

    A predicted tag that is wrong is marked (bold, with a cross), to be seen at a glance.
    """
    names = tf.constant(tag_names)

    def table(index):
        length = inputs['sentence_lengths'][index]
        gold, predicted = inputs['labels'][index][:length], predictions[index][:length]
        predicted_names = tf.gather(names, predicted)
        marked = tf.where(tf.equal(gold, predicted), predicted_names,
                          tf.strings.join(['**', predicted_names, '** ✗']))
        cells = tf.strings.join([inputs['tokens'][index][:length], tf.gather(names, gold), marked],
                                separator=' | ')
        rows = tf.strings.reduce_join(tf.strings.join(['| ', cells, ' |']), separator='\n')
        return tf.strings.join(['| token | gold | predicted |\n|---|---|---|\n', rows])

    count = tf.minimum(number, tf.shape(inputs['tokens'])[0])
    tables = tf.map_fn(table, tf.range(count), fn_output_signature=tf.string)
    return tf.summary.text('dev_sentences', tf.strings.reduce_join(tables, separator='\n\n'))
