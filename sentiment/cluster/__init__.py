"""Past one machine: the Dask engine, the parts of files workers read, what a worker does with
its partitions, rounds of mixing that survive lost workers."""
