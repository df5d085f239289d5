"""The lesson and the measurements: the stages, compare, the references and bench."""
