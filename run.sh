#!/usr/bin/env bash
# The main job, from a fresh clone: set up .venv/, build the dataset if none is built
# (your SIGNS photos in data/SIGNS if they are there, else a synthetic set), train
# experiments/base_model and evaluate it on the test split.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh requirements.txt
py=.venv/bin/python
model_dir=experiments/base_model
data_dir=data/64x64_SIGNS

if [ ! -d "$data_dir/train_signs" ]; then
    if [ -d data/SIGNS/train_signs ] || [ -f data/SIGNS/train_signs.h5 ]; then
        $py build_dataset.py --data_dir data/SIGNS --output_dir "$data_dir"
    elif [ -d data/SYNTHETIC_SIGNS/train_signs ]; then
        $py build_dataset.py --data_dir data/SYNTHETIC_SIGNS --output_dir "$data_dir"
    else
        $py build_dataset.py --synthetic --output_dir "$data_dir"
    fi
fi

# The epoch of the newest checkpoint in last_weights/ (empty if none): an interrupted run resumes,
# a finished one is only evaluated again.
last_epoch=
if [ -d "$model_dir/last_weights" ]; then
    last_epoch=$(ls "$model_dir/last_weights" | sed -n 's/^after-epoch-\([0-9]*\)\.index$/\1/p' | sort -n | tail -n 1)
fi
num_epochs=$($py -c 'import json, sys; print(json.load(open(sys.argv[1]))["num_epochs"])' "$model_dir/params.json")
if [ -z "$last_epoch" ]; then
    $py train.py --model_dir "$model_dir" --data_dir "$data_dir"
elif [ "$last_epoch" -lt "$num_epochs" ]; then
    echo "$model_dir stopped after epoch $last_epoch of $num_epochs: resuming"
    $py train.py --model_dir "$model_dir" --data_dir "$data_dir" --restore_from "$model_dir/last_weights"
else
    echo "$model_dir is already trained: evaluating it again (delete its last_weights/ and best_weights/ to retrain)"
fi
$py evaluate.py --model_dir "$model_dir" --data_dir "$data_dir"

echo
echo "Test metrics:        $model_dir/metrics_test_best_weights.json"
echo "Best dev metrics:    $model_dir/metrics_eval_best_weights.json"
echo "Logs:                $model_dir/train.log, $model_dir/evaluate.log"
echo "TensorBoard:         .venv/bin/tensorboard --logdir $model_dir   (then open http://localhost:6006)"
