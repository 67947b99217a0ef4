"""The pose tower: frozen BlazePose landmarks of each person, projected into the LLM."""
