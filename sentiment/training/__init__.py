"""Training: settings, the encoded rows of a job and where they wait (spool), the epoch driver
(one loop for one process and the cluster), checkpoints, and the whole job from chunks of
labelled texts to a model."""
