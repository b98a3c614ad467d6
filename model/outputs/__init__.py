"""What a user reads: the projection table, run folders, figures and the comparison of scenarios."""
