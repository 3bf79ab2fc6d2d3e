"""The vocabulary files of a NER data set: their names, in one place.

build_vocab.py writes them into the data set's folder, one entry per line (the line
number is the id); train.py keeps a copy beside the weights (model_dir/vocab/), which
predict.py and export.py read. Nothing here imports TensorFlow.
"""
WORDS, TAGS, CHARS = 'words.txt', 'tags.txt', 'chars.txt'
# The sizes build_vocab.py writes beside them (vocab_size, number_of_tags...), which train.py adds to params.
DATASET_PARAMS = 'dataset_params.json'
# The files the weights depend on: their ids are the rows of the embeddings and of the output layer.
VOCABULARIES = (WORDS, TAGS, CHARS)
# Everything build_vocab.py always writes.
VOCABULARY_FILES = VOCABULARIES + (DATASET_PARAMS,)
# With --vectors, also the pretrained vector of each word of words.txt (ner/word_vectors.py): row i, word i.
EMBEDDINGS = 'embeddings.npy'
# What an overwritten data set makes stale.
BUILT_FILES = VOCABULARY_FILES + (EMBEDDINGS,)
