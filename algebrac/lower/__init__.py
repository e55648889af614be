"""Loop IR, lowering from SymPy, passes and the NumPy reference interpreter."""
