"""Run outputs: the journal, Pareto math, tables, plots and run directories."""
