"""Who is looking: the visibility policy every board, matrix, history and result goes through.

Three levels:

- ``organizer``: everything, the hidden test set S0 included (its cells, its column, the
  ranking over the whole suite). For the organizer's own tools (``dataperf leaderboard``,
  ``dataperf ratchet``, rescore diffs), never served over HTTP.
- ``public``: what a participant sees before the organizer's ``admin publish``. Everything is
  computed from public data only: training sets are scored, ranked and starred (top-k) over
  every public test set; test-set difficulty and the bar are taken over that public top-k and
  those test sets; the history is recomputed from public cells. Acceptance into the suite is a
  ratchet decision made with S0 (S0 sets the bar and takes part in the top-k), so suite
  membership, acceptances and top-k changes are not shown either. Nothing derived from S0 (a
  score, a rank, a star, an order, a count, a difficulty, a ratchet decision) is shown.
- ``published``: after ``admin publish``: the ratchet's own standings over the whole suite,
  S0 included; S0's per-cell scores and column still never leave the server.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataperf.challenges import get_challenge
from leaderboard.ratchet.problem import dual_of, problem_id_for
from leaderboard.storage.server_tables import ChallengeSetting


class Visibility(StrEnum):
    """How much of the hidden test set a view may use (see the module rules)."""

    ORGANIZER = "organizer"
    PUBLIC = "public"
    PUBLISHED = "published"

    @property
    def uses_hidden(self) -> bool:
        """Whether scores, ranks and difficulties are computed over the whole suite (S0 included)."""
        return self is not Visibility.PUBLIC

    @property
    def shows_hidden_cells(self) -> bool:
        """Whether S0's own cells, column and digest may be shown."""
        return self is Visibility.ORGANIZER

    def named_members(self, full_suite: Sequence[str], public_tests: Collection[str]) -> list[str]:
        """Return the members of ``full_suite`` this view may name, in suite order: all of them to
        the organizer, those among ``public_tests`` once published, none before (membership is a
        ratchet decision made with the hidden test set)."""
        if self.shows_hidden_cells:
            return list(full_suite)
        if not self.uses_hidden:
            return []
        public = set(public_tests)
        return [d for d in full_suite if d in public]


def is_published(session: Session, challenge: str) -> bool:
    """Return whether the organizer published the hidden results of ``challenge`` (or of its
    ratchet problem's other challenge)."""
    spec = get_challenge(challenge)
    ids = {challenge}
    pid = problem_id_for(spec)
    if pid is not None:
        ids |= {pid, dual_of(pid).id}
    q = select(ChallengeSetting.published).where(ChallengeSetting.challenge.in_(sorted(ids)))
    return any(session.execute(q).scalars())


def for_participants(session: Session, challenge: str) -> Visibility:
    """Return what participants may see of ``challenge`` now: ``published`` once the organizer
    published its hidden results, else ``public``."""
    return Visibility.PUBLISHED if is_published(session, challenge) else Visibility.PUBLIC
