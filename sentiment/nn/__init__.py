"""The network: two layers over a sparse layer 1, its optimizers and dropout."""
