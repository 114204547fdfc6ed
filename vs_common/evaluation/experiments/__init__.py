"""The experiments of ``vs eval``, one module each, and the registry that names them.

* ``dice`` (:mod:`.dice`): random number generation, KL of die rolls to uniform;
* ``open_qa`` (:mod:`.open_qa`): coverage-N, KL to uniform and precision on
  shipped ground truth (US states, chemical elements, countries of Europe);
* ``poem``, ``story``, ``joke`` (:mod:`.creative`): semantic diversity, the
  Vendi score and classes of meaning, and VS over Direct.

To add one, declare an :class:`Experiment` (prompts, sizes, how a sample is
read, what is scored) and pass it to :func:`vs_common.evaluation.run_eval`, or
:func:`register_experiment` it so ``run_eval(experiments=["name"])`` finds it;
an experiment of the package is a module here, listed below.

Example:
    >>> list(EXPERIMENTS)
    ['dice', 'open_qa', 'poem', 'story', 'joke']
"""

from __future__ import annotations

from vs_common.errors import VSConfigError
from vs_common.evaluation.experiments._base import Budget, Experiment, Metric
from vs_common.evaluation.experiments.creative import CREATIVE
from vs_common.evaluation.experiments.dice import DICE
from vs_common.evaluation.experiments.open_qa import OPEN_QA

__all__ = ["EXPERIMENTS", "Budget", "Experiment", "Metric", "experiment", "register_experiment"]

#: Every experiment by name, in the order ``vs eval`` runs them.
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (DICE, OPEN_QA, *CREATIVE)}


def register_experiment(exp: Experiment) -> None:
    """Add ``exp`` to :data:`EXPERIMENTS` (a name already taken is an error).

    Raises:
        VSConfigError: The name is taken.
    """
    if exp.name in EXPERIMENTS:
        msg = f"an experiment named {exp.name!r} is already registered"
        raise VSConfigError(msg, field="experiments")
    EXPERIMENTS[exp.name] = exp


def experiment(name: str) -> Experiment:
    """The registered experiment called ``name``.

    Raises:
        VSConfigError: No experiment has that name (the known ones are listed).
    """
    try:
        return EXPERIMENTS[name]
    except KeyError:
        known = ", ".join(EXPERIMENTS)
        msg = f"unknown experiment {name!r} (known: {known})"
        raise VSConfigError(msg, field="experiments") from None
