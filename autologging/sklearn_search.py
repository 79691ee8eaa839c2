"""Hyperparameter searches (`GridSearchCV`, `RandomizedSearchCV`, any `BaseSearchCV`): best params
and score on the run, `cv_results_` as a CSV artifact, one child run per candidate for the best
`max_tuning_runs` (MLflow's layout)."""

from __future__ import annotations

from typing import Any

from shipyard.autologging.options import SklearnOptions
from shipyard.autologging.runs import AutologRun
from shipyard.autologging.safety import Failures
from shipyard.tracking import fluent

CV_RESULTS_FILE = "cv_results.csv"
_CHILD_METRIC_PREFIXES = ("mean_", "std_", "rank_")


def is_search(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def log_search(
    run: AutologRun, search: Any, options: SklearnOptions, failures: Failures, child_tags: dict[str, str]
) -> None:
    """`child_tags`: the tags of each candidate's run (the searched estimator's name and class)."""
    if hasattr(search, "best_params_"):
        with failures.guard("best params"):
            run.log_params({f"best_{key}": value for key, value in search.best_params_.items()})
    if hasattr(search, "best_score_"):
        with failures.guard("best score"):
            run.log_metrics({"best_cv_score": search.best_score_})
    results = getattr(search, "cv_results_", None)
    if results is None:
        return
    with failures.guard(CV_RESULTS_FILE):
        import pandas as pd

        fluent.log_text(pd.DataFrame(results).to_csv(index=False), CV_RESULTS_FILE, run_id=run.run_id)
    if options.max_tuning_runs != 0:
        with failures.guard("the candidates' child runs"):
            _log_candidates(run, search, results, options, failures, child_tags)


def _log_candidates(
    run: AutologRun,
    search: Any,
    results: dict[str, Any],
    options: SklearnOptions,
    failures: Failures,
    child_tags: dict[str, str],
) -> None:
    """One child run per candidate, best rank first, at most `max_tuning_runs` (None: all)."""
    refit = search.refit if isinstance(search.refit, str) else "score"
    rank_key = f"rank_test_{refit}" if f"rank_test_{refit}" in results else "rank_test_score"
    order = sorted(range(len(results["params"])), key=lambda i: results[rank_key][i] if rank_key in results else i)
    if options.max_tuning_runs is not None:
        order = order[: options.max_tuning_runs]
    base = search.estimator.get_params(deep=True)
    metric_keys = [k for k in results if k.startswith(_CHILD_METRIC_PREFIXES)]
    for index in order:
        child = run.child("sklearn", options.common)
        try:
            with failures.guard(f"candidate {index}"):
                child.log_params({**base, **results["params"][index]})
                child.log_metrics({key: results[key][index] for key in metric_keys})
                child.set_tags(child_tags)
        finally:
            child.end()


__all__ = ["CV_RESULTS_FILE", "is_search", "log_search"]
