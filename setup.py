"""What pyproject.toml cannot say: the built-in challenge specs travel in the wheel.

The specs are edited in ``challenges/`` at the top of the project; the wheel carries them as
``dataperf/builtin_challenges/*.yaml`` (the package data named in pyproject.toml), where
:func:`dataperf.paths.challenges_dir` finds them in an installed package.
"""

from setuptools import find_namespace_packages, setup

SPECS = "dataperf.builtin_challenges"

setup(
    packages=[*find_namespace_packages(include=["dataperf*", "baselines*", "leaderboard*"]), SPECS],
    package_dir={SPECS: "challenges"},
)
