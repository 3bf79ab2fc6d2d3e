#!/usr/bin/env bash
# The main job, from a fresh clone: set up .venv/, build the data set if none is built, train the
# base model and evaluate it on the test split.
#   bash run.sh          the vision example: your SIGNS photos in data/SIGNS if they are there, else a
#                        synthetic set; experiments/base_model
#   bash run.sh ner      the NER example: data/NER if you built it from your corpus, else a synthetic
#                        set; experiments/ner/base_model
# Run it again after an interruption and it resumes; once training is complete, it evaluates again.
set -euo pipefail
cd "$(dirname "$0")"
example=${1:-vision}
case "$example" in
    vision|ner) ;;
    *) echo "Usage: bash run.sh [vision|ner]  (got '$example')" >&2; exit 2 ;;
esac
bash setup.sh requirements.txt
py=.venv/bin/python

# The "source" recorded in a JSON file ($1), or nothing if the file is not there.
recorded_source() {
    [ -f "$1" ] && $py -c 'import json, sys; print(json.load(open(sys.argv[1])).get("source") or "")' "$1" || true
}

if [ "$example" = vision ]; then
    model_dir=experiments/base_model
    data_dir=data/64x64_SIGNS
    if [ -d data/SIGNS/train_signs ] || [ -f data/SIGNS/train_signs.h5 ]; then
        raw_dir=data/SIGNS
    else
        raw_dir=data/SYNTHETIC_SIGNS
    fi
    built_from=$(recorded_source "$data_dir/source.json")
    if [ ! -d "$data_dir/train_signs" ]; then
        if [ "$raw_dir" = data/SIGNS ]; then
            $py build_dataset.py --data_dir data/SIGNS --output_dir "$data_dir"
        else
            $py build_dataset.py --synthetic --output_dir "$data_dir"
        fi
    elif [ -n "$built_from" ] && [ "$built_from" != "$($py -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$raw_dir")" ]; then
        # A data set built from one source must not pass for another (your photos arrived after a synthetic run).
        echo "$data_dir was built from $built_from, not from $raw_dir: building it again from $raw_dir"
        if [ "$raw_dir" = data/SIGNS ]; then
            $py build_dataset.py --data_dir data/SIGNS --output_dir "$data_dir" --overwrite
        else
            $py build_dataset.py --synthetic --output_dir "$data_dir" --overwrite
        fi
    fi
else
    model_dir=experiments/ner/base_model
    data_dir=data/NER
    if [ ! -f "$data_dir/train/sentences.txt" ]; then
        $py build_ner_dataset.py --synthetic --output_dir "$data_dir"
    fi
    if [ ! -f "$data_dir/dataset_params.json" ]; then
        $py build_vocab.py --data_dir "$data_dir"
    fi
fi

# The epoch of the newest checkpoint in last_weights/ (empty if none): an interrupted run resumes,
# a finished one is only evaluated again.
last_epoch=
if [ -d "$model_dir/last_weights" ]; then
    last_epoch=$(ls "$model_dir/last_weights" | sed -n 's/^after-epoch-\([0-9]*\)\.index$/\1/p' | sort -n | tail -n 1)
fi
if [ -n "$last_epoch" ] && [ "$example" = vision ]; then
    trained_on=$(recorded_source "$model_dir/dataset.json")
    now_from=$(recorded_source "$data_dir/source.json")
    if [ -n "$trained_on" ] && [ "$trained_on" != "$now_from" ]; then
        echo "Error: $model_dir holds weights trained on the data set built from $trained_on, and $data_dir is" \
             "now built from $now_from. Keep those weights elsewhere, then run this again to train on the new" \
             "data: mkdir -p experiments/old && mv $model_dir experiments/old/ && git checkout $model_dir" >&2
        exit 2
    fi
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
