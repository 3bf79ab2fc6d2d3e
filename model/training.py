"""Tensorflow utility functions for training"""
import logging
import math
import os

from tqdm import trange

from model.core.errors import InputError
from model.core.hparams import TrainingSession
from model.core.interrupts import SignalGuard
from model.core.layout import (
    BEST_WEIGHTS,
    CHECKPOINT_NAME,
    EVAL_BEST_METRICS,
    EVAL_LAST_METRICS,
    EVAL_SUMMARIES,
    LAST_WEIGHTS,
    TRAIN_SUMMARIES,
)
from model.core.logs import format_metrics
from model.core.params import BEST_METRIC
from model.core.resume import resume
from model.core.session_config import session_config
from model.core.tf_compat import tf
from model.evaluation import evaluate_sess
from model.utils import save_dict_to_json


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
    begin_at_epoch = 0
    # The dev metric that picks the best weights: accuracy for vision, entity F1 for NER.
    best_metric = BEST_METRIC[params.example]
    best_eval = 0.0

    # Ctrl-C or SIGTERM stops training with Interrupted, but never in the middle of saving an epoch.
    with SignalGuard() as guard, tf.Session(config=session_config(params)) as sess:
        # Initialize model variables
        sess.run(train_model_spec['variable_init_op'])

        # Reload weights from directory if specified: training goes on after the epoch they were saved at,
        # and the best weights already saved keep their bar (the edge cases are in model/core/resume.py)
        if restore_from is not None:
            evaluate = lambda: evaluate_sess(sess, eval_model_spec, params.eval_steps)
            begin_at_epoch, best_eval = resume(sess, restore_from, model_dir, last_saver, best_saver, evaluate, params)

        # For tensorboard (takes care of writing summaries to files)
        train_writer = tf.summary.FileWriter(os.path.join(model_dir, TRAIN_SUMMARIES), sess.graph)
        eval_writer = tf.summary.FileWriter(os.path.join(model_dir, EVAL_SUMMARIES), sess.graph)
        # TensorBoard's HParams dashboard: this run's hyperparameters and best dev metrics (model/core/hparams.py)
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
