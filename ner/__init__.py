"""Named-entity recognition: the network functions and a linear-chain CRF written in TF1 ops."""
