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

if [ -d "$model_dir/best_weights" ]; then
    echo "$model_dir is already trained: evaluating it again (delete its last_weights/ and best_weights/ to retrain)"
else
    $py train.py --model_dir "$model_dir" --data_dir "$data_dir"
fi
$py evaluate.py --model_dir "$model_dir" --data_dir "$data_dir"

echo
echo "Test metrics:        $model_dir/metrics_test_best_weights.json"
echo "Best dev metrics:    $model_dir/metrics_eval_best_weights.json"
echo "Logs:                $model_dir/train.log, $model_dir/evaluate.log"
echo "TensorBoard:         .venv/bin/tensorboard --logdir $model_dir   (then open http://localhost:6006)"
