"""Data protection: file permissions, the audit trail, retention and pseudonymisation,
subject access and erasure. Pure functions; the CLI, Dagster and the dashboard call them."""
