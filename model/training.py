"""Tensorflow utility functions for training"""
import logging
import math
import os
import re

from tqdm import trange

from model.checkpoints import (
    epoch_of,
    find_checkpoint,
    latest_usable_checkpoint,
    recover_saver_history,
    remove_partial_saves,
    restore_weights,
)
from model.errors import InputError
from model.evaluation import evaluate_sess, format_metrics
from model.examples import example_of
from model.hparams import TrainingSession
from model.interrupts import SignalGuard
from model.layout import (
    BEST_WEIGHTS,
    CHECKPOINT_NAME,
    EVAL_BEST_METRICS,
    EVAL_LAST_METRICS,
    EVAL_SUMMARIES,
    LAST_WEIGHTS,
    TRAIN_SUMMARIES,
)
from model.session_config import session_config
from model.tf_compat import tf
from model.utils import read_json, save_dict_to_json


class TrainingDiverged(InputError):
    """The loss became NaN or infinite: nothing more is saved, the earlier checkpoints stay."""


def train_sess(sess, model_spec, num_steps, writer, params, epoch=None):
    """Train the model on `num_steps` batches

    Args:
        sess: (tf.Session) current session
        model_spec: (dict) contains the graph operations or nodes needed for training
        num_steps: (int) train for this number of batches
        writer: (tf.summary.FileWriter) writer for summaries
        params: (Params) hyperparameters
        epoch: (int) the epoch being trained, counted from 1, for the error message if the loss diverges
    """
    # Get relevant graph operations or nodes needed for training
    loss = model_spec['loss']
    train_op = model_spec['train_op']
    update_metrics = model_spec['update_metrics']
    metrics = model_spec['metrics']
    summary_op = model_spec['summary_op']
    global_step = tf.train.get_global_step()

    # Load the training dataset into the pipeline and initialize the metrics local variables
    sess.run(model_spec['iterator_init_op'])
    sess.run(model_spec['metrics_init_op'])

    # Use tqdm for progress bar
    t = trange(num_steps, disable=None)  # no bar when output goes to a file (the log lines remain)
    for i in t:
        # Evaluate summaries for tensorboard only once in a while
        if i % params.save_summary_steps == 0:
            # Perform a mini-batch update
            _, _, loss_val, summ, global_step_val = sess.run([train_op, update_metrics, loss,
                                                              summary_op, global_step])
            # Write summaries for tensorboard
            writer.add_summary(summ, global_step_val)
        else:
            _, _, loss_val = sess.run([train_op, update_metrics, loss])
        if not math.isfinite(loss_val):
            raise TrainingDiverged(
                "The loss became {} at epoch {}, step {}: training stopped before saving anything of this "
                "epoch. Try a smaller learning_rate in params.json, or check the data.".format(
                    loss_val, epoch, i + 1))
        # Log the loss in the tqdm progress bar
        t.set_postfix(loss='{:05.3f}'.format(loss_val))

    metrics_values = {k: v[0] for k, v in metrics.items()}
    metrics_val = sess.run(metrics_values)
    logging.info("- Train metrics: " + format_metrics(metrics_val))


# --- Resuming: the dev metric the best weights already saved have to be beaten by ----------------

def best_metric_so_far(sess, saver, eval_model_spec, model_dir, params, best_metric):
    """The dev `best_metric` of the best weights already in model_dir, so a resumed run keeps that bar.

    It is read from metrics_eval_best_weights.json when that file is whole and is about the
    epoch of the best checkpoint. Otherwise (damaged, or the run was killed between saving
    the weights and their metrics) the best weights are evaluated again on the dev set and
    the file is written anew. This loads the best weights into `sess`: call it before
    restoring the weights to resume from (`saver` restores them). Without usable best
    weights, the bar is 0.
    """
    best_dir = os.path.join(model_dir, BEST_WEIGHTS)
    json_path = os.path.join(model_dir, EVAL_BEST_METRICS)
    checkpoint = latest_usable_checkpoint(best_dir)[0] if os.path.isdir(best_dir) else None
    if checkpoint is None:
        if os.path.exists(best_dir) or os.path.exists(json_path):
            logging.warning("No usable checkpoint in %s: the first epoch of this run becomes the best", best_dir)
        return 0.0
    problem = _best_metrics_problem(json_path, epoch_of(checkpoint), best_metric)
    if problem is None:
        return float(read_json(json_path)[best_metric])

    logging.warning("%s %s: evaluating %s on the dev set again to know the %s to beat",
                    json_path, problem, checkpoint, best_metric)
    restore_weights(saver, sess, checkpoint)
    metrics = evaluate_sess(sess, eval_model_spec, params.eval_steps)
    metrics['epoch'] = epoch_of(checkpoint)
    save_dict_to_json(metrics, json_path)
    logging.info("- Best weights re-evaluated (%s): %s", os.path.basename(checkpoint), format_metrics(metrics))
    return metrics[best_metric]


def _best_metrics_problem(json_path, epoch, best_metric):
    """None if json_path holds the metrics of epoch `epoch`, else what is wrong with it."""
    try:
        metrics = read_json(json_path, 'metrics file')
    except InputError as e:
        return 'cannot be used ({})'.format(e)
    if not isinstance(metrics, dict) or not isinstance(metrics.get(best_metric), (int, float)):
        return 'holds no {}'.format(best_metric)
    if metrics.get('epoch') != epoch:
        return 'is about epoch {}, not {} as the best weights are'.format(metrics.get('epoch'), epoch)
    return None


# ---------------------------------------------------------------------------------------------------------

def train_and_evaluate(train_model_spec, eval_model_spec, model_dir, params, restore_from=None):
    """Train the model and evaluate every epoch.

    Args:
        train_model_spec: (dict) contains the graph operations or nodes needed for training
        eval_model_spec: (dict) contains the graph operations or nodes needed for evaluation
        model_dir: (string) directory containing config, weights and log
        params: (Params) contains hyperparameters of the model, and the sizes of the splits
                and their batches per epoch (train_size, eval_size, train_steps, eval_steps) that train.py adds
        restore_from: (string) directory or file containing weights to restore the graph.
                      Training resumes after the epoch those weights were saved at, and stops
                      at params.num_epochs in total.
    """
    # Initialize tf.Saver instances to save weights during training.
    # Relative paths in the 'checkpoint' files: the experiment folder can be moved or copied.
    last_saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)  # will keep last 5 epochs
    best_saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)  # only keep 1 best checkpoint (best on eval)
    last_weights_dir = os.path.join(model_dir, LAST_WEIGHTS)
    best_weights_dir = os.path.join(model_dir, BEST_WEIGHTS)
    begin_at_epoch = 0
    # The dev metric that picks the best weights: accuracy for vision, entity F1 for NER.
    best_metric = example_of(params).BEST_METRIC
    best_eval = 0.0

    # Ctrl-C or SIGTERM stops training with Interrupted, but never in the middle of saving an epoch.
    with SignalGuard() as guard, tf.Session(config=session_config(params)) as sess:
        # Initialize model variables
        sess.run(train_model_spec['variable_init_op'])

        # Reload weights from directory if specified
        if restore_from is not None:
            for folder in (last_weights_dir, best_weights_dir):
                remove_partial_saves(folder)
            remove_partial_metrics(model_dir)
            checkpoint = find_checkpoint(restore_from, model_dir)
            begin_at_epoch = epoch_of(checkpoint)
            if begin_at_epoch >= params.num_epochs:
                raise InputError("{} was saved after epoch {}, and num_epochs in params.json is {}: raise "
                                 "num_epochs to train further".format(checkpoint, begin_at_epoch, params.num_epochs))
            # Before restoring `checkpoint`: this may load the best weights to evaluate them again.
            best_eval = best_metric_so_far(sess, last_saver, eval_model_spec, model_dir, params, best_metric)
            logging.info("Restoring parameters from {}".format(checkpoint))
            restore_weights(last_saver, sess, checkpoint)
            recover_saver_history(last_saver, last_weights_dir)
            recover_saver_history(best_saver, best_weights_dir)

        # For tensorboard (takes care of writing summaries to files)
        train_writer = tf.summary.FileWriter(os.path.join(model_dir, TRAIN_SUMMARIES), sess.graph)
        eval_writer = tf.summary.FileWriter(os.path.join(model_dir, EVAL_SUMMARIES), sess.graph)
        # TensorBoard's HParams dashboard: this run's hyperparameters and best dev metrics (model/hparams.py)
        hparams_session = TrainingSession(model_dir, params)

        for epoch in range(begin_at_epoch, params.num_epochs):
            # Run one epoch
            logging.info("Epoch {}/{}".format(epoch + 1, params.num_epochs))
            # The number of batches in one epoch (one full pass over the training set)
            train_sess(sess, train_model_spec, params.train_steps, train_writer, params, epoch + 1)

            # Evaluate for one epoch on validation set
            metrics = evaluate_sess(sess, eval_model_spec, params.eval_steps, eval_writer)
            metrics['epoch'] = epoch + 1

            # A signal that arrives while the epoch is being saved waits until all its files are written.
            with guard.deferred():
                best_eval = save_epoch(sess, last_saver, best_saver, model_dir, metrics, best_eval, best_metric)
                # The summaries of a finished epoch reach the disk with its weights (an interrupted
                # epoch's do not: resuming runs those steps again).
                train_writer.flush()
                hparams_session.record_best()
                guard.last_epoch = epoch + 1

        train_writer.close()
        eval_writer.close()
        hparams_session.close()


# What save_dict_to_json leaves when killed while writing a metrics file: its temporary file (see
# write_atomically in model/utils.py), never renamed to the real name.
_PARTIAL_METRICS = re.compile(r'^\.tmp-[a-z0-9_]{8}\.json$')


def remove_partial_metrics(model_dir):
    """Delete the temporary files of metrics files whose writing was killed midway."""
    for name in os.listdir(model_dir):
        if _PARTIAL_METRICS.match(name):
            logging.info("Removing %s, left by a save that did not finish", os.path.join(model_dir, name))
            os.remove(os.path.join(model_dir, name))


def save_epoch(sess, last_saver, best_saver, model_dir, metrics, best_eval, best_metric='accuracy'):
    """Save the weights and eval metrics of the epoch `metrics['epoch']`; returns the best metric so far.

    The weights go to last_weights/ and, if metrics[best_metric] is at least the best so
    far, to best_weights/; each is followed by its metrics file.
    """
    epoch = metrics['epoch']
    # Save weights
    last_save_path = os.path.join(model_dir, LAST_WEIGHTS, CHECKPOINT_NAME)
    last_saver.save(sess, last_save_path, global_step=epoch)
    # Save latest eval metrics in a json file in the model directory
    save_dict_to_json(metrics, os.path.join(model_dir, EVAL_LAST_METRICS))

    # If this epoch is the best so far, its weights go to best_weights/ too
    if metrics[best_metric] >= best_eval:
        best_eval = metrics[best_metric]
        best_save_path = os.path.join(model_dir, BEST_WEIGHTS, CHECKPOINT_NAME)
        best_save_path = best_saver.save(sess, best_save_path, global_step=epoch)
        logging.info("- Found new best {}, saving in {}".format(best_metric, best_save_path))
        # Save best eval metrics in a json file in the model directory
        save_dict_to_json(metrics, os.path.join(model_dir, EVAL_BEST_METRICS))
    return best_eval
