"""Review files: what a file is (sniffing), reading it in chunks, what its labels mean, where
files live, fetching IMDB, writing files safely, texts as tables hold them."""
