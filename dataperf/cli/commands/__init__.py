"""Sub-commands of the ``dataperf`` CLI; each module registers its own."""
