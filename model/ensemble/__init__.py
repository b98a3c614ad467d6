"""Many replicates of a scenario: the replicate plan, posterior draws, runs here, in processes or on Dask."""
