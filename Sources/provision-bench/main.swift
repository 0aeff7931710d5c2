print("provision-bench: not yet")
