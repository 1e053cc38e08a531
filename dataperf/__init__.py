"""dataperf: benchmark datasets, not models."""
