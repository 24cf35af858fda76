"""The interview director: phases, state, turn classification and the pure transition functions."""
