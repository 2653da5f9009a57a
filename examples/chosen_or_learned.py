"""Chosen by hand, or learned? The seed question's two answers, side by side.

The same LeNet-5 is trained on images of shapes twice: once with its first layer's six 5x5
filters chosen by hand (edges, diagonals, an X, a plus) and frozen, once from a random He
start. Then each learned first-layer filter is scored against `filters.templates(5)`, the
nine patterns the lab scores kernels against (x, plus, the diagonals, the strokes, the
oriented edges, the Laplacian), not only the six that were frozen.

    python examples/chosen_or_learned.py            # ~10-20 s on 2 cores
    python examples/chosen_or_learned.py --quick    # a few seconds
"""
import argparse

import numpy as np

from initlab import data, filters, models
from initlab.diagnostics import template_scores
from initlab.losses import SoftmaxCrossEntropy
from initlab.optim import Adam
from initlab.train import evaluate, fit

HAND_MADE = ["edge_x", "edge_y", "diagonal", "antidiagonal", "x_shape", "plus_shape"]


def train(dataset, first_layer, epochs, seed):
    model = models.lenet5(1, dataset.num_classes, dataset.image_size, rng=seed)
    if first_layer is not None:            # hand-made filters, frozen: chosen, not learned
        model[0].params["weight"][...] = first_layer
        model[0].trainable = False
    loss = SoftmaxCrossEntropy()
    fit(model, loss, Adam(model, lr=1e-3), dataset.train, dataset.val, epochs=epochs, batch_size=32, rng=seed)
    return model, evaluate(model, loss, *dataset.test)[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and epochs")
    args = parser.parse_args(argv)
    dataset = data.load("shapes", seed=0, n=800 if args.quick else 4000)
    epochs = 2 if args.quick else 6
    bank = filters.bank(HAND_MADE, in_channels=1, size=5)
    bank /= np.linalg.norm(bank.reshape(len(bank), -1), axis=1)[:, None, None, None]

    _, chosen = train(dataset, bank, epochs, seed=0)
    learned_model, learned = train(dataset, None, epochs, seed=0)
    print(f"test accuracy, hand-made first layer (frozen): {chosen:.4f}")
    print(f"test accuracy, learned from a random start:     {learned:.4f}")

    scores, names = template_scores(learned_model[0].params["weight"])
    for k, row in enumerate(scores):
        best = int(np.argmax(row))
        print(f"learned filter {k}: most like {names[best]:<12} (|correlation| {row[best]:.2f})")
    return chosen, learned


if __name__ == "__main__":
    main()
