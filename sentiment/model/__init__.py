"""A trained model and what is done with it: the model, its file format, compact models,
scoring texts into labels and probabilities, metrics, explanations. The built-in model
(``imdb.npz``) lives here."""
