"""The synthetic data engine: pose families and poses, captions, the speculative
lexicon, scenes (appearance, backdrops, physique, referring), instruction chats; `engine` writes
a dataset folder in the real formats of `posegpt.data`."""
