"""Real, offline data: sources, embedding recipes, preparation and the prepared layout."""
