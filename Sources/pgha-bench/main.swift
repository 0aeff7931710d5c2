print("pgha-bench: not yet")
