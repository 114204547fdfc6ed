"""The threshold of ``distinct_classes``: how texts of known classes are partitioned at each cosine.

``vs_common.metrics.distinct_classes`` merges texts into classes of
equivalent meaning the way NoveltyBench does (each text against the
representative of each class), with the offline MiniLM's cosine similarity
in place of NoveltyBench's classifier. This script measures which threshold
recovers known classes best, on the pairs that chose distinct-N's threshold
(``benchmarks/distinct.py --threshold-pairs``):

* every paraphrase pair there is one class of two texts (20 classes);
* every text of its different-answer pairs that is not already in a
  paraphrase pair is a class of its own;
* short answers the eval experiments produce are added: die rolls written
  several ways ("4", "four", "I rolled a 4!") as one class per face, and
  US states and elements as classes of one.

For each threshold it partitions all the texts (shuffled with a fixed seed,
as a model's replies come in no particular order) and prints the classes
found against the true number, the pairs of texts wrongly merged (two
different answers in one class: the worse error, an answer is lost) and
wrongly split (two wordings of one answer in two classes). No model needed;
the ``metrics`` extra is.

    python benchmarks/classes.py
    python benchmarks/classes.py --json classes.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.distinct import DIFFERENT, PARAPHRASES
from vs_common.distribution import normalize_key
from vs_common.metrics import CLASS_SIMILARITY, embed_texts, equivalence_classes

# One class per face: a small model wraps its roll in words.
DICE = [
    ["4", "four", "I rolled a 4!", "The die shows four."],
    ["6", "six", "I rolled a 6.", "The die shows six."],
    ["1", "one", "I rolled a 1."],
]
SHORT_SINGLETONS = ["Ohio", "Iowa", "Texas", "California", "Hydrogen", "Helium", "France"]
THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def truth() -> tuple[list[str], list[int]]:
    """The texts and the index of each one's true class."""
    texts: list[str] = []
    label: list[int] = []
    classes = 0

    def add(group: list[str]) -> None:
        nonlocal classes
        for text in group:
            texts.append(text)
            label.append(classes)
        classes += 1

    paired = {t for pair in PARAPHRASES for t in pair}
    for a, b in PARAPHRASES:
        add([a, b])
    singles = dict.fromkeys(t for pair in DIFFERENT for t in pair if t not in paired)
    for text in singles:
        add([text])
    for group in DICE:
        add(group)
    for text in SHORT_SINGLETONS:
        if text not in singles:
            add([text])
    return texts, label


def errors(found: list[list[int]], label: list[int]) -> tuple[int, int]:
    """Pairs wrongly merged (different truth, one class) and wrongly split."""
    where = {i: c for c, members in enumerate(found) for i in members}
    merged = split = 0
    for i, j in itertools.combinations(range(len(label)), 2):
        same_truth, same_found = label[i] == label[j], where[i] == where[j]
        merged += same_found and not same_truth
        split += same_truth and not same_found
    return merged, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="seed of the shuffle (7)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    from vs_common.backends.embeddings import default_embedder

    texts, label = truth()
    order = list(range(len(texts)))
    random.Random(args.seed).shuffle(order)
    texts = [texts[i] for i in order]
    label = [label[i] for i in order]
    vectors = embed_texts(texts, default_embedder())
    keys = [normalize_key(t) for t in texts]
    true_classes = len(set(label))
    print(f"{len(texts)} texts in {true_classes} true classes")
    print(f"{'threshold':>9} {'classes':>8} {'wrongly merged':>15} {'wrongly split':>14}")
    rows: list[dict[str, Any]] = []
    for t in THRESHOLDS:
        found = equivalence_classes(vectors, threshold=t, keys=keys)
        merged, split = errors(found, label)
        mark = "  <- CLASS_SIMILARITY" if t == CLASS_SIMILARITY else ""
        print(f"{t:>9.2f} {len(found):>8} {merged:>15} {split:>14}{mark}")
        rows.append({"threshold": t, "classes": len(found), "merged": merged, "split": split})
    if args.json is not None:
        data = {"texts": len(texts), "true_classes": true_classes, "rows": rows}
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
