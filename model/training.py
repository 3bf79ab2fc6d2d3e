"""Tensorflow utility functions for training"""
import logging
import math
import os

from tqdm import trange

from model.checkpoints import epoch_of, find_checkpoint, recover_saver_history
from model.evaluation import evaluate_sess, format_metrics, num_steps_for
from model.session_config import session_config
from model.tf_compat import tf
from model.utils import InputError, read_json, save_dict_to_json


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


def best_accuracy_so_far(model_dir):
    """The eval accuracy of the best weights already in model_dir, so a resumed run keeps that bar (0 if none)."""
    json_path = os.path.join(model_dir, 'metrics_eval_best_weights.json')
    if not os.path.isfile(json_path):
        return 0.0
    return float(read_json(json_path).get('accuracy', 0.0))


def train_and_evaluate(train_model_spec, eval_model_spec, model_dir, params, restore_from=None):
    """Train the model and evaluate every epoch.

    Args:
        train_model_spec: (dict) contains the graph operations or nodes needed for training
        eval_model_spec: (dict) contains the graph operations or nodes needed for evaluation
        model_dir: (string) directory containing config, weights and log
        params: (Params) contains hyperparameters of the model.
                Must define: num_epochs, train_size, batch_size, eval_size, save_summary_steps
        restore_from: (string) directory or file containing weights to restore the graph.
                      Training resumes after the epoch those weights were saved at, and stops
                      at params.num_epochs in total.
    """
    # Initialize tf.Saver instances to save weights during training.
    # Relative paths in the 'checkpoint' files: the experiment folder can be moved or copied.
    last_saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)  # will keep last 5 epochs
    best_saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)  # only keep 1 best checkpoint (best on eval)
    last_weights_dir = os.path.join(model_dir, 'last_weights')
    best_weights_dir = os.path.join(model_dir, 'best_weights')
    begin_at_epoch = 0
    best_eval_acc = 0.0

    with tf.Session(config=session_config(params)) as sess:
        # Initialize model variables
        sess.run(train_model_spec['variable_init_op'])

        # Reload weights from directory if specified
        if restore_from is not None:
            checkpoint = find_checkpoint(restore_from, model_dir)
            logging.info("Restoring parameters from {}".format(checkpoint))
            last_saver.restore(sess, checkpoint)
            begin_at_epoch = epoch_of(checkpoint)
            best_eval_acc = best_accuracy_so_far(model_dir)
            recover_saver_history(last_saver, last_weights_dir)
            recover_saver_history(best_saver, best_weights_dir)
            if begin_at_epoch >= params.num_epochs:
                raise InputError("{} was saved after epoch {}, and num_epochs in params.json is {}: raise "
                                 "num_epochs to train further".format(checkpoint, begin_at_epoch, params.num_epochs))

        # For tensorboard (takes care of writing summaries to files)
        train_writer = tf.summary.FileWriter(os.path.join(model_dir, 'train_summaries'), sess.graph)
        eval_writer = tf.summary.FileWriter(os.path.join(model_dir, 'eval_summaries'), sess.graph)

        for epoch in range(begin_at_epoch, params.num_epochs):
            # Run one epoch
            logging.info("Epoch {}/{}".format(epoch + 1, params.num_epochs))
            # Compute number of batches in one epoch (one full pass over the training set)
            num_steps = num_steps_for(params.train_size, params.batch_size)
            train_sess(sess, train_model_spec, num_steps, train_writer, params, epoch + 1)

            # Evaluate for one epoch on validation set
            num_steps = num_steps_for(params.eval_size, params.batch_size)
            metrics = evaluate_sess(sess, eval_model_spec, num_steps, eval_writer)
            metrics['epoch'] = epoch + 1

            # Save weights
            last_save_path = os.path.join(last_weights_dir, 'after-epoch')
            last_saver.save(sess, last_save_path, global_step=epoch + 1)
            # Save latest eval metrics in a json file in the model directory
            last_json_path = os.path.join(model_dir, "metrics_eval_last_weights.json")
            save_dict_to_json(metrics, last_json_path)

            # If best_eval, best_save_path
            eval_acc = metrics['accuracy']
            if eval_acc >= best_eval_acc:
                # Store new best accuracy
                best_eval_acc = eval_acc
                # Save weights
                best_save_path = os.path.join(best_weights_dir, 'after-epoch')
                best_save_path = best_saver.save(sess, best_save_path, global_step=epoch + 1)
                logging.info("- Found new best accuracy, saving in {}".format(best_save_path))
                # Save best eval metrics in a json file in the model directory
                best_json_path = os.path.join(model_dir, "metrics_eval_best_weights.json")
                save_dict_to_json(metrics, best_json_path)

        train_writer.close()
        eval_writer.close()
