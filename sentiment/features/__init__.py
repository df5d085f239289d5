"""Text to features: normalizing, tokens by Unicode script, negation, hashing (the tokenizer
rules named in model files), counting, and the vocabulary that turns texts into rows."""
