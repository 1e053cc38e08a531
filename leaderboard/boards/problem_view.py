"""One ratchet problem as one viewer may see it: sets, suite, cells and standings, loaded once.

The standings shown are computed for the viewer's :class:`~leaderboard.boards.visibility.Visibility`:
over the whole suite (``organizer``, ``published``), or (``public``) over every public test set,
accepted into the suite or not: acceptance is decided with the hidden test set (it takes part in
the top-k and the bar), so suite membership is itself hidden until publish. The ranking, the
top-k, difficulty and the bar of a public view are functions of public cells alone.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.evaluator import confidence_interval
from dataperf.kinds.test_set import options_of
from leaderboard.arithmetic.standings import Standings, best_of, compute
from leaderboard.boards.versions import version_of
from leaderboard.boards.visibility import Visibility
from leaderboard.ratchet.cells import effective_version
from leaderboard.ratchet.problem import dual_of, problem_key
from leaderboard.storage.tables import Cell, Dataset, SuiteMember


class ProblemView:
    """Everything about one ratchet problem that ``view`` may show, loaded in one go."""

    def __init__(
        self,
        session: Session,
        problem: str,
        view: Visibility,
        evaluator_version: str | None = None,
        version: int | None = None,
    ) -> None:
        """Load problem ``problem`` (its training-set challenge's id) at that challenge's version
        ``version`` (the current one when None; an earlier one from its stored spec)."""
        spec = version_of(session, problem, version).spec
        self.challenge, self.view = problem, view
        self.problem = problem_key(problem, spec.version)
        """The storage key of the problem at that version."""
        self.direction = spec.metric.direction
        self.seeds = [str(s) for s in spec.seeds]
        self.task_names = [t.name for t in spec.tasks]
        self._session = session
        self._read: list[Any] | None = None
        self.k = options_of(dual_of(problem)).top_k
        problem = self.problem
        self.version = effective_version(session, problem, evaluator_version)
        sets = session.execute(
            select(Dataset.digest, Dataset.role, Dataset.origin).where(Dataset.problem == problem).order_by(Dataset.id)
        ).all()
        self.train = [d for d, r, _ in sets if r == "train"]
        self.all_tests = [d for d, r, _ in sets if r == "test"]
        self.hidden = {d for d, r, o in sets if r == "test" and o == "organizer"}
        self.public_tests = [d for d in self.all_tests if d not in self.hidden]
        members = session.execute(
            select(SuiteMember.test_sha256).where(SuiteMember.problem == problem).order_by(SuiteMember.id)
        ).scalars()
        self.full_suite = list(members)
        self.public_suite = list(self.public_tests)
        """What a public view scores training sets over: every public test set (membership of
        the suite depends on the hidden test set, so it plays no part before publish)."""

    def read_all(self) -> list[Any]:
        """Return every cell of the problem at this version, read on first use (at a popular
        challenge's size, millions of rows: :meth:`seed_scores` reads one set's alone until
        then)."""
        if self._read is None:
            q = select(Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.scores, Cell.hardness_mean).where(
                Cell.problem == self.problem, Cell.evaluator_version == self.version
            )
            self._read = list(self._session.execute(q).all())
        return self._read

    @cached_property
    def all_cells(self) -> list[tuple[str, str, float, Any]]:
        """Return every cell as (training set, test set, mean, hardness mean)."""
        return [(a, b, float(m), hm) for a, b, m, _, hm in self.read_all()]

    @cached_property
    def public_cells(self) -> list[tuple[str, str, float, Any]]:
        """Return the cells of the public test sets."""
        return [c for c in self.all_cells if c[1] not in self.hidden]

    @cached_property
    def _cell_scores(self) -> dict[tuple[str, str], Any]:
        return {(a, b): sc for a, b, _, sc, _ in self.read_all()}

    @property
    def tests(self) -> list[str]:
        """Return the test sets whose columns, rows and difficulties may be shown."""
        return self.all_tests if self.view.shows_hidden_cells else self.public_tests

    @property
    def suite(self) -> list[str]:
        """Return the suite members whose cells make up the shown scores."""
        return self.full_suite if self.view.uses_hidden else self.public_suite

    @property
    def shown_suite(self) -> list[str]:
        """Return the suite members that may be named: all to the organizer, the public ones once
        published, none before (membership is a ratchet decision made with the hidden test set)."""
        return self.view.named_members(self.full_suite, self.public_tests)

    @cached_property
    def public(self) -> Standings:
        """Return the standings over public data only: public suite members, public test sets."""
        return compute(self.train, self.public_tests, self.public_suite, self.public_cells, self.k, self.direction)

    @cached_property
    def standings(self) -> Standings:
        """Return the standings this view shows (scores, ranks, top-k, difficulty, bar)."""
        if not self.view.uses_hidden:
            return self.public
        return compute(self.train, self.all_tests, self.full_suite, self.all_cells, self.k, self.direction)

    @cached_property
    def public_members(self) -> Standings:
        """Return the standings over the suite's public members (what a published view's worst
        cell is taken over: S0's own cells never leave the server)."""
        members = [d for d in self.full_suite if d not in self.hidden]
        return compute(self.train, self.public_tests, members, self.public_cells, self.k, self.direction)

    def worst(self, digest: str) -> float | None:
        """Return the worst shown cell of ``digest``: over the whole suite for the organizer, its
        public members once published, every public test set before."""
        if self.view.shows_hidden_cells:
            return self.standings.worst.get(digest)
        return (self.public_members if self.view.uses_hidden else self.public).worst.get(digest)

    def ci95(self, digest: str) -> list[float] | None:
        """Return the 95% CI over seeds of ``digest``'s shown score (None when unknown)."""
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for s in self.suite:
            scores = self._cell_scores.get((digest, s))
            if scores is None:
                return None
            for per in scores.values():
                for seed, v in per.items():
                    sums[seed] += float(v)
                    counts[seed] += 1
        ci = confidence_interval([sums[s] / counts[s] for s in self.seeds if counts.get(s)])
        return list(ci) if ci is not None else None

    def seed_scores(self, digest: str) -> dict[str, dict[str, float]] | None:
        """Return ``digest``'s shown scores per task and seed: each the mean of its cells over
        the shown suite members it has a cell for, as its shown score is (None: no such cell)."""
        if self._read is not None:
            cells = [self._cell_scores[(digest, s)] for s in self.suite if (digest, s) in self._cell_scores]
        else:  # one training set's cells, without reading the problem's
            q = select(Cell.test_sha256, Cell.scores).where(
                Cell.problem == self.problem,
                Cell.evaluator_version == self.version,
                Cell.train_sha256 == digest,
            )
            mine: dict[str, Any] = {t: sc for t, sc in self._session.execute(q).all()}
            cells = [mine[s] for s in self.suite if s in mine]
        if not cells:
            return None
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for scores in cells:
            for task, per in scores.items():
                for seed, v in per.items():
                    sums[task][str(seed)] += float(v) / len(cells)
        return {t: dict(per) for t, per in sums.items()}

    def values(self) -> dict[tuple[str, str], float]:
        """Return the cells this view may show, keyed by (training set, test set)."""
        cells = self.all_cells if self.view.shows_hidden_cells else self.public_cells
        return {(a, b): v for a, b, v, _ in cells}

    def history_point(self, trains: list[str], suite: list[str]) -> dict[str, Any]:
        """Return the bar and the best score of a past ratchet state (its training sets and
        suite: for a public view, the public test sets known then), recomputed from this view's
        cells: public ones only unless S0 may be used."""
        members = suite if self.view.uses_hidden else [s for s in suite if s not in self.hidden]
        tests = self.all_tests if self.view.uses_hidden else members
        cells = self.all_cells if self.view.uses_hidden else self.public_cells
        st = compute(trains, tests, members, cells, self.k, self.direction)
        best = [st.score[t] for t in st.train if st.complete.get(t) and st.score.get(t) is not None]
        return {"bar": st.bar, "best_score": best_of(best, self.direction), "suite": members}
